/// A plain-text table for terminals: columns padded to their widest cell, numbers right-aligned,
/// a rule under the header. No colours, so it reads the same in a pipe or a CI log.
struct TextTable {
    var header: [String]
    var rows: [[String]]

    init(_ header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    func render() -> String {
        let columns = max(header.count, rows.map(\.count).max() ?? 0)
        func cell(_ row: [String], _ c: Int) -> String { c < row.count ? row[c] : "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in [header] + rows {
            for c in 0 ..< columns { widths[c] = max(widths[c], cell(row, c).count) }
        }
        let numeric = (0 ..< columns).map { c in
            !rows.isEmpty && rows.allSatisfy { row in
                let v = cell(row, c)
                return v.isEmpty || v == "-" || Double(v.filter { $0 != "%" && $0 != "s" && $0 != "+" }) != nil
            }
        }
        func line(_ row: [String]) -> String {
            var parts: [String] = []
            for c in 0 ..< columns {
                let v = cell(row, c)
                let pad = String(repeating: " ", count: widths[c] - v.count)
                parts.append(numeric[c] ? pad + v : v + pad)
            }
            var text = parts.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}
