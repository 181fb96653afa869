import Testing
@testable import SiraKernels

struct GradNormTests {
    @Test("global norm over several buffers and clipping to maxNorm")
    func normAndClip() {
        var rng = TestRNG(seed: 51)
        var a = rng.floats(129, scale: 3), b = rng.floats(7), c: [Float] = []
        let ref = (a + b).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let norm = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
            c.withUnsafeBufferPointer { cp in globalGradNorm([ap, bp, cp]) } } }
        #expect(abs(Double(norm) - ref) <= 1e-6 * ref)

        let before = a + b
        let reported = a.withUnsafeMutableBufferPointer { ap in b.withUnsafeMutableBufferPointer { bp in
            clipGradNorm([ap, bp], maxNorm: 1) } }
        #expect(abs(Double(reported) - ref) <= 1e-6 * ref)
        let after = a + b
        let newNorm = after.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(newNorm - 1) <= 1e-5)
        for i in 0..<after.count { #expect(abs(Double(after[i]) - Double(before[i]) / (ref + 1e-6)) <= 1e-6) }

        // Under the limit: untouched.
        let unchanged = a
        a.withUnsafeMutableBufferPointer { ap in _ = clipGradNorm([ap], maxNorm: 100) }
        #expect(a == unchanged)
    }
}
