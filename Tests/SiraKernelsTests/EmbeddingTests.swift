import Testing
@testable import SiraKernels

struct EmbeddingTests {
    @Test("gather copies rows; scatter-add accumulates repeated ids and is the exact adjoint")
    func gatherScatter() {
        var rng = TestRNG(seed: 31)
        let vocab = 11, dim = 7, tokens = 9
        let table = rng.floats(vocab * dim)
        let ids: [Int32] = [3, 0, 10, 3, 3, 7, 0, 1, 10]
        var out = [Float](repeating: 0, count: tokens * dim)
        embeddingForward(table: table, ids: ids, out: &out, tokens: tokens, dim: dim, vocab: vocab)
        for t in 0..<tokens {
            #expect(Array(out[(t * dim)..<((t + 1) * dim)]) == Array(table[(Int(ids[t]) * dim)..<((Int(ids[t]) + 1) * dim)]))
        }
        let dOut = rng.floats(tokens * dim)
        var dTable = [Float](repeating: 1, count: vocab * dim)
        embeddingBackward(ids: ids, dOut: dOut, dTable: &dTable, tokens: tokens, dim: dim, vocab: vocab)
        for v in 0..<vocab {
            for j in 0..<dim {
                var ref = 1.0
                for t in 0..<tokens where Int(ids[t]) == v { ref += Double(dOut[t * dim + j]) }
                #expect(abs(Double(dTable[v * dim + j]) - ref) <= 1e-6)
            }
        }
    }
}
