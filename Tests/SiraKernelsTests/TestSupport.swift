import Testing
@testable import SiraKernels

/// Deterministic random numbers for the tests (SplitMix64), so a failure reproduces.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in float() * scale } }
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

let float32Epsilon = Double(Float.ulpOfOne)

/// Naive Double-accumulating GEMM on the same storage conventions as `sgemm`; also returns, per
/// element, `|alpha| Σ_p |op(A)_ip op(B)_pj| + |beta C0_ij|`, the scale of the rounding error.
func referenceGemm(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float,
                   a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int)
    -> (c: [Double], scale: [Double]) {
    var out = c.map(Double.init), scale = [Double](repeating: 0, count: c.count)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0, mag = 0.0
            for p in 0..<k {
                let av = Double(ta == .noTranspose ? a[i * lda + p] : a[p * lda + i])
                let bv = Double(tb == .noTranspose ? b[p * ldb + j] : b[j * ldb + p])
                s += av * bv
                mag += abs(av * bv)
            }
            let c0 = beta == 0 ? 0 : Double(c[i * ldc + j])
            out[i * ldc + j] = Double(alpha) * s + Double(beta) * c0
            scale[i * ldc + j] = abs(Double(alpha)) * mag + abs(Double(beta) * c0)
        }
    }
    return (out, scale)
}

/// Central finite difference of a scalar function of a Float vector, evaluated in place.
func finiteDifference(_ x: inout [Float], at i: Int, h: Float, _ f: ([Float]) -> Double) -> Double {
    let saved = x[i]
    x[i] = saved + h
    let plus = f(x)
    x[i] = saved - h
    let minus = f(x)
    x[i] = saved
    return (plus - minus) / (2 * Double(h))
}

/// `Σ_i w_i y_i` in Double: a scalar loss whose gradient w.r.t. `y` is `w`.
func weightedSum(_ y: [Float], _ w: [Float]) -> Double {
    zip(y, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}

/// Checks every analytic gradient entry against its finite difference:
/// `|analytic - fd| <= absTol + relTol * |fd|`.
func expectGradientsMatch(_ analytic: [Float], _ fd: [Double], absTol: Double = 2e-3, relTol: Double = 1e-2,
                          _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(analytic.count == fd.count, "\(what): count", sourceLocation: sourceLocation)
    var worst = 0.0, worstAt = -1
    for i in 0..<min(analytic.count, fd.count) {
        let excess = abs(Double(analytic[i]) - fd[i]) - (absTol + relTol * abs(fd[i]))
        if excess > worst { worst = excess; worstAt = i }
    }
    #expect(worstAt < 0, "\(what): gradient \(worstAt < 0 ? 0 : analytic[worstAt]) vs finite difference \(worstAt < 0 ? 0 : fd[worstAt]) at \(worstAt)",
            sourceLocation: sourceLocation)
}
