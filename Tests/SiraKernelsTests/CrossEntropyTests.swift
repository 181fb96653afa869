import Foundation
import Testing
@testable import SiraKernels

struct CrossEntropyTests {
    /// Double reference of one row: (nll, argmax, softmax).
    private func reference(_ row: [Float], target: Int) -> (nll: Double, argmax: Int, softmax: [Double]) {
        let z = row.map(Double.init)
        let mx = z.max()!
        let logZ = mx + Foundation.log(z.reduce(0.0) { $0 + Foundation.exp($1 - mx) })
        return (logZ - z[target], z.firstIndex(of: mx)!, z.map { Foundation.exp($0 - logZ) })
    }

    @Test("sums, argmax count and in-place gradient match a Double reference; weight-0 rows skipped",
          arguments: [(1, 7), (2, 129), (2, 33), (1, 1)])
    func matchesReference(threads: Int, vocab: Int) {
        var rng = TestRNG(seed: 17)
        let rows = 131   // three 64-row blocks, the last partial
        let logits = rng.floats(rows * vocab, scale: 6)
        let targets = (0..<rows).map { _ in Int32(rng.int(0..<vocab)) }
        var weights = (0..<rows).map { _ in Float(rng.int(0..<3)) * 0.5 }   // 0, 0.5 or 1
        weights[0] = 1
        let scale: Float = 1 / 11
        var grad = logits
        var unchanged = logits
        let plain = softmaxCrossEntropy(logits: &unchanged, targets: targets, weights: weights, rows: rows, vocab: vocab,
                                        gradScale: nil, threads: threads)
        #expect(unchanged == logits, "no gradient: logits left as they were")
        let withGrad = softmaxCrossEntropy(logits: &grad, targets: targets, weights: weights, rows: rows, vocab: vocab,
                                           gradScale: scale, threads: threads)
        #expect(plain == withGrad, "the gradient pass changes no sum")
        var nll = 0.0, weighted = 0.0, tokens = 0, correct = 0
        for r in 0..<rows {
            let t = Int(targets[r])
            let ref = reference(Array(logits[r * vocab ..< (r + 1) * vocab]), target: t)
            let m = Double(weights[r])
            if m != 0 {
                nll += ref.nll; weighted += m * ref.nll; tokens += 1
                if ref.argmax == t { correct += 1 }
            }
            for j in 0..<vocab {
                let want = m == 0 ? 0 : Double(scale) * m * (ref.softmax[j] - (j == t ? 1 : 0))
                #expect(abs(Double(grad[r * vocab + j]) - want) <= 1e-6, "row \(r) col \(j)")
            }
        }
        #expect(withGrad.tokens == tokens && withGrad.correct == correct)
        #expect(abs(withGrad.nllSum - nll) <= 1e-5 * max(1, nll))
        #expect(abs(withGrad.weightedNLL - weighted) <= 1e-5 * max(1, weighted))
    }

    @Test("gradient = finite difference of the weighted loss")
    func finiteDifferences() {
        var rng = TestRNG(seed: 18)
        let rows = 4, vocab = 7
        var logits = rng.floats(rows * vocab, scale: 3)
        let targets: [Int32] = [3, 1, 0, 6]
        let weights: [Float] = [1, 0, 0.5, 2]
        var grad = logits
        softmaxCrossEntropy(logits: &grad, targets: targets, weights: weights, rows: rows, vocab: vocab, gradScale: 1.0 / 3)
        let fd = (0..<logits.count).map { i in
            finiteDifference(&logits, at: i, h: 1e-2) { l in
                var copy = l
                return softmaxCrossEntropy(logits: &copy, targets: targets, weights: weights, rows: rows, vocab: vocab,
                                           gradScale: nil).weightedNLL / 3
            }
        }
        expectGradientsMatch(grad, fd, absTol: 5e-4, "cross-entropy")
    }
}
