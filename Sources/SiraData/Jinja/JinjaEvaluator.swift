/// Runs parsed statements against a context. Scoping as Jinja2: each `for` iteration and each
/// macro call has its own frame, so a `set` inside them is not seen after them (only
/// `namespace()` attributes cross that boundary); `if` opens no scope.
final class JinjaEvaluator {
    let template: String
    private var frames: [[String: JinjaValue]]
    private var output = ""

    init(template: String, globals: [String: JinjaValue]) {
        self.template = template
        self.frames = [globals]
    }

    private enum Flow { case normal, breakLoop, continueLoop }

    func render(_ body: [JinjaStmt]) throws(JinjaError) -> String {
        _ = try run(body)
        return output
    }

    func lookup(_ name: String) -> JinjaValue {
        for frame in frames.reversed() { if let v = frame[name] { return v } }
        return .undefined(name)
    }

    private func assign(_ name: String, _ value: JinjaValue) {
        frames[frames.count - 1][name] = value
    }

    private func fail(_ f: JinjaFailure, line: Int) -> JinjaError {
        JinjaError(f.kind, template: template, line: line, f.message)
    }

    private func eval(_ e: JinjaExpr, line: Int) throws(JinjaError) -> JinjaValue {
        do { return try evaluate(e) } catch { throw fail(error, line: line) }
    }

    private func run(_ body: [JinjaStmt]) throws(JinjaError) -> Flow {
        for stmt in body {
            switch stmt {
            case let .text(s): output += s
            case let .output(e, line):
                output += try eval(e, line: line).jinjaString
            case let .ifChain(branches, otherwise, line):
                var taken = false
                for (cond, b) in branches where try eval(cond, line: line).isTruthy {
                    taken = true
                    let flow = try run(b)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try run(otherwise)
                    if flow != .normal { return flow }
                }
            case let .forLoop(targets, iterable, filter, b, otherwise, line):
                try runFor(targets: targets, iterable: iterable, filter: filter, body: b, otherwise: otherwise, line: line)
            case let .set(target, e, line):
                let v = try eval(e, line: line)
                switch target {
                case let .names(names):
                    if names.count == 1 { assign(names[0], v); break }
                    let items: [JinjaValue]
                    do { items = try iterate(v) } catch { throw fail(error, line: line) }
                    guard items.count == names.count else {
                        throw JinjaError(.runtime, template: template, line: line, "cannot unpack \(items.count) values into \(names.count) names")
                    }
                    for (n, x) in zip(names, items) { assign(n, x) }
                case let .attribute(ns, attr):
                    guard case let .namespace(space) = lookup(ns) else {
                        throw JinjaError(.runtime, template: template, line: line, "cannot set attribute \(attr) on \(ns), which is not a namespace()")
                    }
                    space.attributes[attr] = v
                }
            case let .setBlock(name, b, _):
                let saved = output
                output = ""
                _ = try run(b)
                assign(name, .string(output))
                output = saved
            case let .macro(name, params, b, _):
                assign(name, .macro(JinjaMacro(name: name, parameters: params, body: b)))
            case let .filterBlock(name, b, line):
                let saved = output
                output = ""
                _ = try run(b)
                let inner = output
                output = saved
                do { output += try applyFilter(name, .string(inner), [], [:]).jinjaString } catch { throw fail(error, line: line) }
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        }
        return .normal
    }

    private func runFor(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaStmt], otherwise: [JinjaStmt], line: Int) throws(JinjaError) {
        let source = try eval(iterable, line: line)
        var items: [JinjaValue]
        do { items = try iterate(source) } catch { throw fail(error, line: line) }
        func bind(_ item: JinjaValue) throws(JinjaError) {
            if targets.count == 1 { assign(targets[0], item); return }
            let parts: [JinjaValue]
            do { parts = try iterate(item) } catch { throw fail(error, line: line) }
            guard parts.count == targets.count else {
                throw JinjaError(.runtime, template: template, line: line, "cannot unpack \(parts.count) values into \(targets.count) loop variables")
            }
            for (n, x) in zip(targets, parts) { assign(n, x) }
        }
        if let filter {
            var kept: [JinjaValue] = []
            for item in items {
                frames.append([:])
                defer { frames.removeLast() }
                try bind(item)
                if try eval(filter, line: line).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try run(otherwise)
            return
        }
        let n = items.count
        for (i, item) in items.enumerated() {
            frames.append([:])
            defer { frames.removeLast() }
            var loop = JinjaObject()
            loop["index"] = .int(i + 1)
            loop["index0"] = .int(i)
            loop["revindex"] = .int(n - i)
            loop["revindex0"] = .int(n - i - 1)
            loop["first"] = .bool(i == 0)
            loop["last"] = .bool(i == n - 1)
            loop["length"] = .int(n)
            loop["previtem"] = i > 0 ? items[i - 1] : .undefined("loop.previtem")
            loop["nextitem"] = i + 1 < n ? items[i + 1] : .undefined("loop.nextitem")
            assign("loop", .object(loop))
            try bind(item)
            if try run(body) == .breakLoop { break }
        }
    }

    // MARK: expressions

    func evaluate(_ e: JinjaExpr) throws(JinjaFailure) -> JinjaValue {
        switch e {
        case let .literal(l):
            switch l {
            case .none: return .none
            case let .bool(b): return .bool(b)
            case let .int(i): return .int(i)
            case let .double(d): return .double(d)
            case let .string(s): return .string(s)
            }
        case let .name(n):
            let v = lookup(n)
            if v.isUndefined, let builtin = JinjaBuiltins.global(n) { return builtin }
            return v
        case let .attribute(base, name):
            return try getAttribute(try evaluate(base), name)
        case let .item(base, index):
            return try getItem(try evaluate(base), try evaluate(index))
        case let .slice(base, a, b, c):
            return try slice(try evaluate(base), a.map(evaluate), b.map(evaluate), c.map(evaluate))
        case let .call(callee, args, kwargs):
            let f = try evaluate(callee)
            let a = try args.map(evaluate)
            var k: [String: JinjaValue] = [:]
            for (name, x) in kwargs { k[name] = try evaluate(x) }
            return try call(f, a, k)
        case let .filter(base, name, args, kwargs):
            let v = try evaluate(base)
            var k: [String: JinjaValue] = [:]
            for (n, x) in kwargs { k[n] = try evaluate(x) }
            return try applyFilter(name, v, try args.map(evaluate), k)
        case let .test(base, name, args, negated):
            let result = try applyTest(name, try evaluate(base), try args.map(evaluate))
            return .bool(result != negated)
        case let .unary(op, x):
            let v = try evaluate(x)
            switch op {
            case "not": return .bool(!v.isTruthy)
            case "-":
                switch v {
                case let .int(i): return .int(-i)
                case let .double(d): return .double(-d)
                case let .bool(b): return .int(b ? -1 : 0)
                default: throw JinjaFailure("bad operand type for unary -: '\(v.typeName)'")
                }
            default: return v
            }
        case let .binary(op, l, r):
            if op == "and" {
                let a = try evaluate(l)
                return a.isTruthy ? try evaluate(r) : a
            }
            if op == "or" {
                let a = try evaluate(l)
                return a.isTruthy ? a : try evaluate(r)
            }
            return try binary(op, try evaluate(l), try evaluate(r))
        case let .conditional(then, condition, otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map(evaluate) ?? .undefined("conditional")
        case let .list(items):
            return .array(try items.map(evaluate))
        case let .dict(pairs):
            var o = JinjaObject()
            for (k, v) in pairs {
                guard case let .string(key) = try evaluate(k) else { throw JinjaFailure("dict literal keys must be strings") }
                o[key] = try evaluate(v)
            }
            return .object(o)
        }
    }

    func call(_ f: JinjaValue, _ args: [JinjaValue], _ kwargs: [String: JinjaValue]) throws(JinjaFailure) -> JinjaValue {
        switch f {
        case let .macro(m):
            frames.append([:])
            defer { frames.removeLast() }
            guard args.count <= m.parameters.count else { throw JinjaFailure("macro \(m.name) takes \(m.parameters.count) arguments, \(args.count) given") }
            for (i, (p, def)) in m.parameters.enumerated() {
                if i < args.count { assign(p, args[i]) } else if let v = kwargs[p] { assign(p, v) } else if let def { assign(p, try evaluate(def)) } else { assign(p, .undefined(p)) }
            }
            let saved = output
            output = ""
            defer { output = saved }
            do { _ = try run(m.body) } catch { throw JinjaFailure(error.message, kind: error.kind) }
            return .string(output)
        case let .builtin(name):
            return try JinjaBuiltins.callGlobal(name, args, kwargs)
        case let .method(receiver, name):
            return try JinjaBuiltins.callMethod(receiver, name, args, kwargs)
        case let .undefined(name):
            throw JinjaFailure("'\(name)' is undefined")
        default:
            throw JinjaFailure("'\(f.typeName)' object is not callable")
        }
    }
}
