/// Splits a template into text, `{{ }}` outputs and `{% %}` tags, applying Jinja2's whitespace
/// rules as transformers configures its environment (`trim_blocks=True, lstrip_blocks=True`):
/// - `{%-`/`{{-`/`{#-` strip all white space before the tag, `-%}`/`-}}`/`-#}` all after it;
/// - trim_blocks: the first newline after a block or comment tag is dropped (`+%}` keeps it);
/// - lstrip_blocks: spaces and tabs between a line start and a block or comment tag are dropped
///   (`{%+` keeps them). Neither applies to `{{ }}`.
/// Inside tags the text is cut into expression tokens.
enum JinjaPiece {
    case text(String)
    case output([JinjaToken], line: Int)
    case tag([JinjaToken], line: Int)
}

enum JinjaToken: Equatable {
    case name(String)
    case string(String)
    case int(Int)
    case double(Double)
    case op(String)
}

struct JinjaLexer {
    let template: String
    let src: [Unicode.Scalar]

    init(_ text: String, template: String) {
        self.template = template
        self.src = Array(text.unicodeScalars)
    }

    private struct RawTag {
        var kind: Character  // "{", "%", "#"
        var leftSign: Unicode.Scalar?
        var rightSign: Unicode.Scalar?
        var inner: ArraySlice<Unicode.Scalar>
        var line: Int
    }

    private enum Raw {
        case text(ArraySlice<Unicode.Scalar>, atLineStart: Bool)
        case tag(RawTag)
    }

    func tokenize() throws(JinjaError) -> [JinjaPiece] {
        var raws: [Raw] = []
        var pos = 0
        var line = 1
        var textStart = 0
        let n = src.count
        while pos < n {
            if src[pos] == "{", pos + 1 < n, src[pos + 1] == "{" || src[pos + 1] == "%" || src[pos + 1] == "#" {
                let open = src[pos + 1]
                raws.append(.text(src[textStart ..< pos], atLineStart: textStart == 0))
                let tagLine = line
                var p = pos + 2
                var left: Unicode.Scalar?
                if p < n, src[p] == "-" || src[p] == "+" { left = src[p]; p += 1 }
                let close: Unicode.Scalar = open == "{" ? "}" : open
                // Find the closing delimiter, skipping string literals in expressions.
                var quote: Unicode.Scalar?
                var q = p
                var found = -1
                while q < n {
                    let c = src[q]
                    if let qc = quote {
                        if c == "\\" { q += 2; continue }
                        if c == qc { quote = nil }
                    } else if open != "#" && (c == "'" || c == "\"") {
                        quote = c
                    } else if c == close, q + 1 < n, src[q + 1] == "}" {
                        found = q
                        break
                    }
                    q += 1
                }
                guard found >= 0 else {
                    throw JinjaError(.syntax, template: template, line: tagLine, "unclosed \(open == "{" ? "{{" : open == "%" ? "{%" : "{#")")
                }
                var innerEnd = found
                var right: Unicode.Scalar?
                if innerEnd > p, src[innerEnd - 1] == "-" || src[innerEnd - 1] == "+" { right = src[innerEnd - 1]; innerEnd -= 1 }
                let kind: Character = open == "{" ? "{" : open == "%" ? "%" : "#"
                raws.append(.tag(RawTag(kind: kind, leftSign: left, rightSign: right, inner: src[p ..< innerEnd], line: tagLine)))
                for i in pos ..< found + 2 where src[i] == "\n" { line += 1 }
                pos = found + 2
                textStart = pos
                if kind == "%", isRawTag(src[p ..< innerEnd]) {
                    // {% raw %}...{% endraw %}: the body is text, tags inside are not parsed.
                    guard let (bodyEnd, after, endLeft, endRight) = findEndRaw(from: pos) else {
                        throw JinjaError(.syntax, template: template, line: tagLine, "{% raw %} without {% endraw %}")
                    }
                    raws.removeLast()
                    raws.append(.tag(RawTag(kind: "%", leftSign: left, rightSign: right, inner: [], line: tagLine)))
                    raws.append(.text(src[pos ..< bodyEnd], atLineStart: false))
                    raws.append(.tag(RawTag(kind: "%", leftSign: endLeft, rightSign: endRight, inner: [], line: tagLine)))
                    for i in pos ..< after where src[i] == "\n" { line += 1 }
                    pos = after
                    textStart = pos
                }
                continue
            }
            if src[pos] == "\n" { line += 1 }
            pos += 1
        }
        raws.append(.text(src[textStart ..< n], atLineStart: textStart == 0))

        var pieces: [JinjaPiece] = []
        for (i, raw) in raws.enumerated() {
            switch raw {
            case let .text(slice, atLineStart):
                var s = slice
                var startsLine = atLineStart
                if i > 0, case let .tag(prev) = raws[i - 1] {
                    if prev.rightSign == "-" {
                        while let f = s.first, isJinjaSpace(f) { startsLine = f == "\n"; s = s.dropFirst() }
                    } else if prev.kind != "{", prev.rightSign != "+", s.first == "\n" {
                        s = s.dropFirst()
                        startsLine = true
                    }
                }
                if i + 1 < raws.count, case let .tag(next) = raws[i + 1] {
                    if next.leftSign == "-" {
                        while let l = s.last, isJinjaSpace(l) { s = s.dropLast() }
                    } else if next.kind != "{", next.leftSign != "+" {
                        // Only white space between the last line start and the tag: drop it.
                        var lPos = s.endIndex
                        while lPos > s.startIndex, s[lPos - 1] != "\n" { lPos -= 1 }
                        if (lPos > s.startIndex || startsLine), lPos < s.endIndex, s[lPos...].allSatisfy(isJinjaSpace) {
                            s = s[s.startIndex ..< lPos]
                        }
                    }
                }
                if !s.isEmpty {
                    var str = ""
                    str.unicodeScalars.append(contentsOf: s)
                    pieces.append(.text(str))
                }
            case let .tag(tag):
                if tag.kind == "#" { continue }
                if tag.kind == "%" && tag.inner.isEmpty { continue }  // raw/endraw markers
                let tokens = try tokenizeExpression(tag.inner, line: tag.line)
                pieces.append(tag.kind == "{" ? .output(tokens, line: tag.line) : .tag(tokens, line: tag.line))
            }
        }
        return pieces
    }

    private func isRawTag(_ inner: ArraySlice<Unicode.Scalar>) -> Bool {
        var s = ""
        s.unicodeScalars.append(contentsOf: inner)
        return s.trimmingJinjaSpace() == "raw"
    }

    private func findEndRaw(from start: Int) -> (Int, Int, Unicode.Scalar?, Unicode.Scalar?)? {
        var p = start
        while p + 1 < src.count {
            if src[p] == "{", src[p + 1] == "%" {
                var q = p + 2
                var left: Unicode.Scalar?
                if q < src.count, src[q] == "-" || src[q] == "+" { left = src[q]; q += 1 }
                while q < src.count, src[q] == " " || src[q] == "\t" || src[q] == "\n" { q += 1 }
                let word = "endraw".unicodeScalars
                if q + word.count <= src.count, Array(src[q ..< q + word.count]) == Array(word) {
                    q += word.count
                    while q < src.count, src[q] == " " || src[q] == "\t" || src[q] == "\n" { q += 1 }
                    var right: Unicode.Scalar?
                    if q < src.count, src[q] == "-" || src[q] == "+" { right = src[q]; q += 1 }
                    if q + 1 < src.count, src[q] == "%", src[q + 1] == "}" { return (p, q + 2, left, right) }
                }
            }
            p += 1
        }
        return nil
    }

    private func tokenizeExpression(_ s: ArraySlice<Unicode.Scalar>, line: Int) throws(JinjaError) -> [JinjaToken] {
        var out: [JinjaToken] = []
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if isJinjaSpace(c) { i += 1; continue }
            if c == "_" || c.properties.isAlphabetic {
                var j = i
                while j < s.endIndex, s[j] == "_" || s[j].properties.isAlphabetic || ("0" ... "9").contains(s[j]) { j += 1 }
                var name = ""
                name.unicodeScalars.append(contentsOf: s[i ..< j])
                out.append(.name(name))
                i = j
                continue
            }
            if ("0" ... "9").contains(c) {
                var j = i
                var isFloat = false
                while j < s.endIndex, ("0" ... "9").contains(s[j]) || s[j] == "_" { j += 1 }
                if j + 1 < s.endIndex, s[j] == ".", ("0" ... "9").contains(s[j + 1]) {
                    isFloat = true
                    j += 1
                    while j < s.endIndex, ("0" ... "9").contains(s[j]) { j += 1 }
                }
                if j < s.endIndex, s[j] == "e" || s[j] == "E" {
                    var k = j + 1
                    if k < s.endIndex, s[k] == "+" || s[k] == "-" { k += 1 }
                    if k < s.endIndex, ("0" ... "9").contains(s[k]) {
                        while k < s.endIndex, ("0" ... "9").contains(s[k]) { k += 1 }
                        isFloat = true
                        j = k
                    }
                }
                var text = ""
                text.unicodeScalars.append(contentsOf: s[i ..< j].filter { $0 != "_" })
                if isFloat { out.append(.double(Double(text) ?? 0)) } else {
                    guard let v = Int(text) else { throw JinjaError(.syntax, template: template, line: line, "number \(text) is too large") }
                    out.append(.int(v))
                }
                i = j
                continue
            }
            if c == "'" || c == "\"" {
                var j = i + 1
                var value = ""
                var closed = false
                while j < s.endIndex {
                    let d = s[j]
                    if d == c { closed = true; j += 1; break }
                    if d == "\\", j + 1 < s.endIndex {
                        let e = s[j + 1]
                        switch e {
                        case "n": value.unicodeScalars.append("\n")
                        case "t": value.unicodeScalars.append("\t")
                        case "r": value.unicodeScalars.append("\r")
                        case "\\": value.unicodeScalars.append("\\")
                        case "'": value.unicodeScalars.append("'")
                        case "\"": value.unicodeScalars.append("\"")
                        case "\n": break
                        default:
                            value.unicodeScalars.append("\\")
                            value.unicodeScalars.append(e)
                        }
                        j += 2
                        continue
                    }
                    value.unicodeScalars.append(d)
                    j += 1
                }
                guard closed else { throw JinjaError(.syntax, template: template, line: line, "unterminated string literal") }
                out.append(.string(value))
                i = j
                continue
            }
            let two: String = i + 1 < s.endIndex ? String(String.UnicodeScalarView([c, s[i + 1]])) : ""
            if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
                out.append(.op(two))
                i += 2
                continue
            }
            if "+-*/%~<>=()[]{}.,:|".unicodeScalars.contains(c) {
                out.append(.op(String(c)))
                i += 1
                continue
            }
            throw JinjaError(.syntax, template: template, line: line, "unexpected character \"\(c)\"")
        }
        return out
    }
}

/// Python's str.isspace() set: what `strip()`, `split()` and `|trim` treat as white space.
func isJinjaSpace(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x09 ... 0x0D, 0x1C ... 0x20, 0x85, 0xA0, 0x1680, 0x2000 ... 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
    default: return false
    }
}

extension String {
    func trimmingJinjaSpace() -> String {
        var s = Substring.UnicodeScalarView(unicodeScalars)
        while let f = s.first, isJinjaSpace(f) { s.removeFirst() }
        while let l = s.last, isJinjaSpace(l) { s.removeLast() }
        return String(String.UnicodeScalarView(s))
    }
}
