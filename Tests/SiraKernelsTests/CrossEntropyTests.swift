import Foundation
import Testing
@testable import SiraKernels

struct CrossEntropyTests {
    @Test("loss, count and dlogits match a Double reference with ignored rows", arguments: [1, 2])
    func reference(threads: Int) {
        var rng = TestRNG(seed: 17)
        let rows = 13, vocab = 129, ld = vocab + 3
        let logits = rng.floats(rows * ld, scale: 6)
        var targets = (0..<rows).map { _ in Int32(rng.int(0..<vocab)) }
        targets[2] = -100
        var mask = [UInt8](repeating: 1, count: rows)
        mask[5] = 0
        mask[2] = 1
        var d = [Float](repeating: 9, count: rows * ld)
        let scale: Float = 1 / 11
        let result = softmaxCrossEntropy(logits: logits, targets: targets, mask: mask, rows: rows, vocab: vocab, ld: ld,
                                         dLogits: &d, gradScale: scale, threads: threads)
        #expect(result.count == 11)
        var lossRef = 0.0
        for r in 0..<rows {
            let row = (0..<vocab).map { Double(logits[r * ld + $0]) }
            let mx = row.max()!
            let logZ = mx + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp($1 - mx) })
            let counted = r != 2 && r != 5
            if counted { lossRef += logZ - row[Int(targets[r])] }
            for j in 0..<vocab {
                let ref = counted ? Double(scale) * (Foundation.exp(row[j] - logZ) - (j == Int(targets[r]) ? 1 : 0)) : 0
                #expect(abs(Double(d[r * ld + j]) - ref) <= 1e-6, "row \(r) col \(j)")
            }
            for j in vocab..<ld { #expect(d[r * ld + j] == 9, "padding written") }
        }
        #expect(abs(result.lossSum - lossRef) <= 1e-5 * lossRef)
    }

    @Test("in-place dlogits and gradient = finite difference of the mean loss")
    func finiteDifferences() {
        var rng = TestRNG(seed: 18)
        let rows = 4, vocab = 7
        var logits = rng.floats(rows * vocab, scale: 3)
        let targets: [Int32] = [3, -1, 0, 6]
        var grad = logits
        let r = grad.withUnsafeMutableBufferPointer { g in
            softmaxCrossEntropy(logits: g.baseAddress!, targets: targets, rows: rows, vocab: vocab,
                                dLogits: g.baseAddress!, gradScale: 1.0 / 3)
        }
        #expect(r.count == 3)
        let fd = (0..<logits.count).map { i in
            finiteDifference(&logits, at: i, h: 1e-2) { l in
                softmaxCrossEntropy(logits: l, targets: targets, rows: rows, vocab: vocab).lossSum / 3
            }
        }
        expectGradientsMatch(grad, fd, absTol: 5e-4, "cross-entropy")
    }
}
