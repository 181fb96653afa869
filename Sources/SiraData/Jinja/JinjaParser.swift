/// Recursive-descent parser for the Jinja2 subset, with Jinja2's precedence (lowest first):
/// `a if b else c`, `or`, `and`, `not`, comparisons (`== != < > <= >= in not-in`), `+ -`, `~`,
/// `* / // %`, `**`, unary `- +`, then primaries with postfixes (`.x`, `[i]`, `[a:b:c]`, calls)
/// and filters/tests (`|f(args)`, `is [not] t`), which bind tighter than any operator.
struct JinjaParser {
    let template: String
    private var pieces: [JinjaPiece]
    private var index = 0
    // Expression state
    private var tokens: [JinjaToken] = []
    private var pos = 0
    private var line = 1

    init(pieces: [JinjaPiece], template: String) {
        self.pieces = pieces
        self.template = template
    }

    mutating func parse() throws(JinjaError) -> [JinjaStmt] {
        let (body, end) = try parseBlock(until: [])
        if let end { throw error("unexpected {% \(end) %}") }
        return body
    }

    private func error(_ message: String) -> JinjaError {
        JinjaError(.syntax, template: template, line: line, message)
    }

    /// Parses statements until a tag whose first word is in `until` (returned, with its tokens
    /// left for the caller at `tokens`/`pos`), or the end (nil).
    private mutating func parseBlock(until: Set<String>) throws(JinjaError) -> ([JinjaStmt], String?) {
        var out: [JinjaStmt] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case let .text(s): out.append(.text(s))
            case let .output(toks, l):
                tokens = toks; pos = 0; line = l
                let e = try parseExpression()
                try expectEnd()
                out.append(.output(e, line: l))
            case let .tag(toks, l):
                tokens = toks; pos = 0; line = l
                guard case let .name(word)? = next() else { throw error("a tag must start with a keyword") }
                if until.contains(word) { return (out, word) }
                out.append(try parseStatement(word, line: l))
            }
        }
        if !until.isEmpty { throw error("missing {% \(until.sorted().joined(separator: " or ")) %} (template ended)") }
        return (out, nil)
    }

    private mutating func parseStatement(_ word: String, line l: Int) throws(JinjaError) -> JinjaStmt {
        switch word {
        case "if":
            var branches: [(JinjaExpr, [JinjaStmt])] = []
            var cond = try parseExpression()
            try expectEnd()
            while true {
                let (body, end) = try parseBlock(until: ["elif", "else", "endif"])
                branches.append((cond, body))
                if end == "elif" {
                    cond = try parseExpression()
                    try expectEnd()
                    continue
                }
                if end == "else" {
                    try expectEnd()
                    let (elseBody, _) = try parseBlock(until: ["endif"])
                    try expectEnd()
                    return .ifChain(branches, otherwise: elseBody, line: l)
                }
                try expectEnd()
                return .ifChain(branches, otherwise: [], line: l)
            }
        case "for":
            var targets = [try expectName()]
            while accept(.op(",")) { targets.append(try expectName()) }
            guard accept(.name("in")) else { throw error("expected 'in' in for loop") }
            let iterable = try parseCondition(allowConditional: false)
            var filter: JinjaExpr?
            if accept(.name("if")) { filter = try parseOr() }
            _ = accept(.name("recursive"))
            try expectEnd()
            let (body, end) = try parseBlock(until: ["else", "endfor"])
            try expectEnd()
            var otherwise: [JinjaStmt] = []
            if end == "else" {
                (otherwise, _) = try parseBlock(until: ["endfor"])
                try expectEnd()
            }
            return .forLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: l)
        case "set":
            let first = try expectName()
            if accept(.op(".")) {
                let attr = try expectName()
                guard accept(.op("=")) else { throw error("expected = after set \(first).\(attr)") }
                let value = try parseTuple()
                try expectEnd()
                return .set(.attribute(first, attr), value, line: l)
            }
            var names = [first]
            while accept(.op(",")) { names.append(try expectName()) }
            if accept(.op("=")) {
                let value = try parseTuple()
                try expectEnd()
                return .set(.names(names), value, line: l)
            }
            try expectEnd()
            let (body, _) = try parseBlock(until: ["endset"])
            try expectEnd()
            return .setBlock(first, body, line: l)
        case "macro":
            let name = try expectName()
            guard accept(.op("(")) else { throw error("expected ( after macro \(name)") }
            var params: [(String, JinjaExpr?)] = []
            while !accept(.op(")")) {
                if !params.isEmpty { guard accept(.op(",")) else { throw error("expected , in macro parameters") } }
                let p = try expectName()
                params.append((p, accept(.op("=")) ? try parseExpression() : nil))
            }
            try expectEnd()
            let (body, _) = try parseBlock(until: ["endmacro"])
            _ = try? expectName()
            try expectEnd()
            return .macro(name: name, parameters: params, body: body, line: l)
        case "filter":
            let name = try expectName()
            try expectEnd()
            let (body, _) = try parseBlock(until: ["endfilter"])
            try expectEnd()
            return .filterBlock(name, body, line: l)
        case "generation":
            // transformers' assistant-mask extension: renders its body unchanged.
            try expectEnd()
            let (body, _) = try parseBlock(until: ["endgeneration"])
            try expectEnd()
            return .ifChain([(.literal(.bool(true)), body)], otherwise: [], line: l)
        case "break":
            try expectEnd()
            return .breakLoop(line: l)
        case "continue":
            try expectEnd()
            return .continueLoop(line: l)
        default:
            throw error("unknown tag {% \(word) %}")
        }
    }

    // MARK: tokens

    private mutating func next() -> JinjaToken? {
        guard pos < tokens.count else { return nil }
        pos += 1
        return tokens[pos - 1]
    }
    private func peek(_ k: Int = 0) -> JinjaToken? { pos + k < tokens.count ? tokens[pos + k] : nil }
    private mutating func accept(_ t: JinjaToken) -> Bool {
        if peek() == t { pos += 1; return true }
        return false
    }
    private mutating func expect(_ t: JinjaToken, _ what: String) throws(JinjaError) {
        guard accept(t) else { throw error("expected \(what), found \(describe(peek()))") }
    }
    private mutating func expectName() throws(JinjaError) -> String {
        guard case let .name(n)? = peek() else { throw error("expected a name, found \(describe(peek()))") }
        pos += 1
        return n
    }
    private func expectEnd() throws(JinjaError) {
        if pos < tokens.count { throw error("unexpected \(describe(peek())) at the end of the tag") }
    }
    private func describe(_ t: JinjaToken?) -> String {
        switch t {
        case nil: return "end of tag"
        case let .name(n)?: return "'\(n)'"
        case let .string(s)?: return "string \"\(s)\""
        case let .int(i)?: return "\(i)"
        case let .double(d)?: return "\(d)"
        case let .op(o)?: return "'\(o)'"
        }
    }

    // MARK: expressions

    /// An expression, or a tuple when commas follow (as in `set a = 1, 2`).
    private mutating func parseTuple() throws(JinjaError) -> JinjaExpr {
        let first = try parseExpression()
        guard peek() == .op(",") else { return first }
        var items = [first]
        while accept(.op(",")) {
            if pos >= tokens.count { break }
            items.append(try parseExpression())
        }
        return .list(items)
    }

    mutating func parseExpression() throws(JinjaError) -> JinjaExpr {
        try parseCondition(allowConditional: true)
    }

    private mutating func parseCondition(allowConditional: Bool) throws(JinjaError) -> JinjaExpr {
        var e = try parseOr()
        while allowConditional, accept(.name("if")) {
            let cond = try parseOr()
            let otherwise: JinjaExpr? = accept(.name("else")) ? try parseCondition(allowConditional: true) : nil
            e = .conditional(then: e, condition: cond, otherwise: otherwise)
        }
        return e
    }

    private mutating func parseOr() throws(JinjaError) -> JinjaExpr {
        var e = try parseAnd()
        while accept(.name("or")) { e = .binary("or", e, try parseAnd()) }
        return e
    }

    private mutating func parseAnd() throws(JinjaError) -> JinjaExpr {
        var e = try parseNot()
        while accept(.name("and")) { e = .binary("and", e, try parseNot()) }
        return e
    }

    private mutating func parseNot() throws(JinjaError) -> JinjaExpr {
        if accept(.name("not")) { return .unary("not", try parseNot()) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws(JinjaError) -> JinjaExpr {
        var e = try parseMath1()
        while true {
            if case let .op(o)? = peek(), ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                pos += 1
                e = .binary(o, e, try parseMath1())
            } else if accept(.name("in")) {
                e = .binary("in", e, try parseMath1())
            } else if peek() == .name("not"), peek(1) == .name("in") {
                pos += 2
                e = .unary("not", .binary("in", e, try parseMath1()))
            } else {
                return e
            }
        }
    }

    private mutating func parseMath1() throws(JinjaError) -> JinjaExpr {
        var e = try parseConcat()
        while case let .op(o)? = peek(), o == "+" || o == "-" {
            pos += 1
            e = .binary(o, e, try parseConcat())
        }
        return e
    }

    private mutating func parseConcat() throws(JinjaError) -> JinjaExpr {
        var e = try parseMath2()
        while accept(.op("~")) { e = .binary("~", e, try parseMath2()) }
        return e
    }

    private mutating func parseMath2() throws(JinjaError) -> JinjaExpr {
        var e = try parsePow()
        while case let .op(o)? = peek(), ["*", "/", "//", "%"].contains(o) {
            pos += 1
            e = .binary(o, e, try parsePow())
        }
        return e
    }

    private mutating func parsePow() throws(JinjaError) -> JinjaExpr {
        var e = try parseUnary(withFilter: true)
        while accept(.op("**")) { e = .binary("**", e, try parseUnary(withFilter: true)) }
        return e
    }

    private mutating func parseUnary(withFilter: Bool) throws(JinjaError) -> JinjaExpr {
        var e: JinjaExpr
        if accept(.op("-")) {
            e = .unary("-", try parseUnary(withFilter: false))
        } else if accept(.op("+")) {
            e = .unary("+", try parseUnary(withFilter: false))
        } else {
            e = try parsePostfix(try parsePrimary())
        }
        if withFilter { e = try parseFilters(e) }
        return e
    }

    private mutating func parsePrimary() throws(JinjaError) -> JinjaExpr {
        guard let t = next() else { throw error("expected an expression, found end of tag") }
        switch t {
        case let .name(n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case var .string(s):
            // Adjacent string literals concatenate, as in Python.
            while case let .string(more)? = peek() { s += more; pos += 1 }
            return .literal(.string(s))
        case let .int(i): return .literal(.int(i))
        case let .double(d): return .literal(.double(d))
        case .op("("):
            if accept(.op(")")) { return .list([]) }
            let first = try parseExpression()
            if accept(.op(")")) { return first }
            var items = [first]
            while accept(.op(",")) {
                if peek() == .op(")") { break }
                items.append(try parseExpression())
            }
            try expect(.op(")"), "')'")
            return .list(items)
        case .op("["):
            var items: [JinjaExpr] = []
            while !accept(.op("]")) {
                if !items.isEmpty { try expect(.op(","), "',' or ']'") }
                if accept(.op("]")) { break }
                items.append(try parseExpression())
            }
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while !accept(.op("}")) {
                if !pairs.isEmpty { try expect(.op(","), "',' or '}'") }
                if accept(.op("}")) { break }
                let k = try parseExpression()
                try expect(.op(":"), "':' in a dict literal")
                pairs.append((k, try parseExpression()))
            }
            return .dict(pairs)
        default:
            throw error("unexpected \(describe(t))")
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpr) throws(JinjaError) -> JinjaExpr {
        var e = base
        while true {
            if accept(.op(".")) {
                if case let .int(i)? = peek() { pos += 1; e = .item(e, .literal(.int(i))); continue }
                e = .attribute(e, try expectName())
            } else if accept(.op("[")) {
                var parts: [JinjaExpr?] = [nil]
                var isSlice = false
                while !accept(.op("]")) {
                    if accept(.op(":")) { isSlice = true; parts.append(nil); continue }
                    guard parts[parts.count - 1] == nil else { throw error("expected ']'") }
                    parts[parts.count - 1] = try parseExpression()
                }
                if isSlice {
                    guard parts.count <= 3 else { throw error("a slice has at most three parts") }
                    while parts.count < 3 { parts.append(nil) }
                    e = .slice(e, parts[0], parts[1], parts[2])
                } else {
                    guard let index = parts[0] else { throw error("empty subscript") }
                    e = .item(e, index)
                }
            } else if peek() == .op("(") {
                let (args, kwargs) = try parseCallArguments()
                e = .call(e, args, kwargs)
            } else {
                return e
            }
        }
    }

    private mutating func parseCallArguments() throws(JinjaError) -> ([JinjaExpr], [(String, JinjaExpr)]) {
        try expect(.op("("), "'('")
        var args: [JinjaExpr] = []
        var kwargs: [(String, JinjaExpr)] = []
        while !accept(.op(")")) {
            if !(args.isEmpty && kwargs.isEmpty) { try expect(.op(","), "',' or ')'") }
            if accept(.op(")")) { break }
            if case let .name(n)? = peek(), peek(1) == .op("=") {
                pos += 2
                kwargs.append((n, try parseExpression()))
            } else {
                args.append(try parseExpression())
            }
        }
        return (args, kwargs)
    }

    private mutating func parseFilters(_ base: JinjaExpr) throws(JinjaError) -> JinjaExpr {
        var e = base
        while true {
            if accept(.op("|")) {
                let name = try expectName()
                var args: [JinjaExpr] = []
                var kwargs: [(String, JinjaExpr)] = []
                if peek() == .op("(") { (args, kwargs) = try parseCallArguments() }
                e = .filter(e, name, args, kwargs)
            } else if accept(.name("is")) {
                let negated = accept(.name("not"))
                let name = try expectName()
                var args: [JinjaExpr] = []
                if peek() == .op("(") {
                    (args, _) = try parseCallArguments()
                } else if let t = peek(), startsArgument(t) {
                    args = [try parsePostfix(try parsePrimary())]
                }
                e = .test(e, name, args, negated: negated)
            } else if peek() == .op("(") {
                let (args, kwargs) = try parseCallArguments()
                e = .call(e, args, kwargs)
            } else {
                return e
            }
        }
    }

    /// Whether a test name is followed by a bare argument (`is divisibleby 3`, `is sameas none`).
    private func startsArgument(_ t: JinjaToken) -> Bool {
        switch t {
        case .string, .int, .double: return true
        case let .name(n): return !["and", "or", "else", "if", "is", "in", "not", "recursive"].contains(n)
        case let .op(o): return o == "[" || o == "{"
        }
    }
}

/// Parses `source` into statements; `name` is used in error messages.
func parseJinja(_ source: String, name: String) throws(JinjaError) -> [JinjaStmt] {
    let pieces = try JinjaLexer(source, template: name).tokenize()
    var parser = JinjaParser(pieces: pieces, template: name)
    return try parser.parse()
}
