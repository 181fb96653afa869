import Testing
@testable import SiraKernels

struct RMSNormTests {
    @Test("forward matches a Double reference (rel. error <= 1e-5)", arguments: [(1, 1), (3, 7), (5, 33), (2, 129)])
    func forward(rows: Int, dim: Int) {
        var rng = TestRNG(seed: UInt64(rows * 1000 + dim))
        let x = rng.floats(rows * dim, scale: 3), w = rng.floats(dim)
        var y = [Float](repeating: 0, count: rows * dim), inv = [Float](repeating: 0, count: rows)
        rmsNormForward(x: x, weight: w, y: &y, invRMS: &inv, rows: rows, dim: dim, eps: 1e-5)
        for r in 0..<rows {
            let ms = (0..<dim).reduce(0.0) { $0 + Double(x[r * dim + $1]) * Double(x[r * dim + $1]) } / Double(dim)
            let invRef = 1 / (ms + 1e-5).squareRoot()
            #expect(abs(Double(inv[r]) - invRef) <= 1e-5 * invRef)
            for j in 0..<dim {
                let ref = Double(x[r * dim + j]) * invRef * Double(w[j])
                #expect(abs(Double(y[r * dim + j]) - ref) <= 1e-5 * (abs(ref) + 1e-3))
            }
        }
    }

    @Test("backward (dx and weight grad) matches central finite differences")
    func backward() {
        var rng = TestRNG(seed: 5)
        let rows = 3, dim = 33
        var x = rng.floats(rows * dim, scale: 2), w = rng.floats(dim)
        let upstream = rng.floats(rows * dim)
        func loss(_ x: [Float], _ w: [Float]) -> Double {
            var y = [Float](repeating: 0, count: rows * dim), inv = [Float](repeating: 0, count: rows)
            rmsNormForward(x: x, weight: w, y: &y, invRMS: &inv, rows: rows, dim: dim, eps: 1e-5)
            return weightedSum(y, upstream)
        }
        var y = [Float](repeating: 0, count: rows * dim), inv = [Float](repeating: 0, count: rows)
        rmsNormForward(x: x, weight: w, y: &y, invRMS: &inv, rows: rows, dim: dim, eps: 1e-5)
        let seed: Float = 0.25   // accumulation: start from a non-zero gradient
        var dx = [Float](repeating: seed, count: rows * dim), dw = [Float](repeating: seed, count: dim)
        rmsNormBackward(x: x, weight: w, invRMS: inv, dy: upstream, dx: &dx, dWeight: &dw, rows: rows, dim: dim)
        let wCopy = w
        let fdx = (0..<x.count).map { i in finiteDifference(&x, at: i, h: 1e-2) { loss($0, wCopy) } + Double(seed) }
        let xCopy = x
        let fdw = (0..<w.count).map { i in finiteDifference(&w, at: i, h: 1e-2) { loss(xCopy, $0) } + Double(seed) }
        expectGradientsMatch(dx, fdx, "rmsnorm dx")
        expectGradientsMatch(dw, fdw, "rmsnorm dweight")
    }
}
