import Foundation
import Testing
@testable import SiraKernels

struct SoftmaxTests {
    @Test("forward with and without causal mask matches Double reference (abs. error <= 1e-6)",
          arguments: [(1, 1), (7, 7), (5, 33), (3, 129)])
    func forward(rows: Int, cols: Int) {
        var rng = TestRNG(seed: UInt64(rows + cols))
        let ld = cols + 2
        let x = rng.floats(rows * ld, scale: 10)
        for (offset, scale) in [(nil, Float(1)), (0, 0.125), (cols - rows, 1)] as [(Int?, Float)] {
            if let o = offset, o < 0 { continue }
            var y = [Float](repeating: -7, count: rows * ld)
            softmaxForward(x: x, y: &y, rows: rows, cols: cols, ld: ld, scale: scale, causalOffset: offset)
            for r in 0..<rows {
                let valid = offset.map { min(cols, r + $0 + 1) } ?? cols
                let mx = (0..<valid).map { Double(scale) * Double(x[r * ld + $0]) }.max()!
                let z = (0..<valid).reduce(0.0) { $0 + Foundation.exp(Double(scale) * Double(x[r * ld + $1]) - mx) }
                for j in 0..<cols {
                    let ref = j < valid ? Foundation.exp(Double(scale) * Double(x[r * ld + j]) - mx) / z : 0
                    #expect(abs(Double(y[r * ld + j]) - ref) <= 1e-6, "row \(r) col \(j) offset \(String(describing: offset))")
                }
                for j in cols..<ld { #expect(y[r * ld + j] == -7, "padding written") }
            }
        }
    }

    @Test("backward matches central finite differences (causal and plain)")
    func backward() {
        var rng = TestRNG(seed: 21)
        let rows = 5, cols = 7
        var x = rng.floats(rows * cols, scale: 2)
        let w = rng.floats(rows * cols)
        for offset in [nil, 1] as [Int?] {
            var y = [Float](repeating: 0, count: rows * cols)
            softmaxForward(x: x, y: &y, rows: rows, cols: cols, scale: 0.5, causalOffset: offset)
            var dx = [Float](repeating: 0, count: rows * cols)
            softmaxBackward(y: y, dy: w, dx: &dx, rows: rows, cols: cols, scale: 0.5, causalOffset: offset)
            let fd = (0..<x.count).map { i in
                finiteDifference(&x, at: i, h: 1e-2) { x in
                    var y = [Float](repeating: 0, count: rows * cols)
                    softmaxForward(x: x, y: &y, rows: rows, cols: cols, scale: 0.5, causalOffset: offset)
                    return weightedSum(y, w)
                }
            }
            expectGradientsMatch(dx, fd, absTol: 5e-4, "softmax offset \(String(describing: offset))")
        }
    }
}
