import Testing
@testable import SiraKernels

struct TopKTests {
    /// Brute force: sort all columns by (value descending, index ascending), take k.
    static func bruteForce(_ row: [Float], k: Int) -> [Int] {
        Array(row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(k))
    }

    @Test("matches brute force with many ties (values from a small integer set)",
          arguments: [(1, 1), (7, 1), (7, 2), (16, 2), (33, 4), (129, 7), (5, 5)])
    func bruteForceWithTies(cols: Int, k: Int) {
        var rng = TestRNG(seed: UInt64(cols * 31 + k))
        let rows = 23, ld = cols + 1
        let x = (0..<(rows * ld)).map { _ in Float(rng.int(0..<4)) * 0.5 }
        var idx = [Int32](repeating: -1, count: rows * k), val = [Float](repeating: 0, count: rows * k)
        topKRows(x, rows: rows, cols: cols, ld: ld, k: k, indices: &idx, values: &val)
        for r in 0..<rows {
            let row = Array(x[(r * ld)..<(r * ld + cols)])
            let ref = Self.bruteForce(row, k: k)
            #expect(idx[(r * k)..<((r + 1) * k)].map(Int.init) == ref, "row \(r)")
            #expect(Array(val[(r * k)..<((r + 1) * k)]) == ref.map { row[$0] })
        }
    }

    @Test("all-equal row picks the first k columns; NaN loses to numbers")
    func tiesAndNaN() {
        var idx = [Int32](repeating: 0, count: 3), val = [Float](repeating: 0, count: 3)
        topKRows([2, 2, 2, 2, 2], rows: 1, cols: 5, k: 3, indices: &idx, values: &val)
        #expect(idx == [0, 1, 2])
        topKRows([.nan, -5, .nan, 1], rows: 1, cols: 4, k: 3, indices: &idx, values: &val)
        #expect(Array(idx.prefix(2)) == [3, 1])
    }
}
