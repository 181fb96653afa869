// Token embedding lookup and its gradient.

/// `out[t, :] = table[ids[t], :]` for `tokens` ids; `table` is `[vocab, dim]`, `out` `[tokens, dim]`.
public func embeddingForward(table: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
                             out: UnsafeMutablePointer<Float>, tokens: Int, dim: Int, vocab: Int) {
    for t in 0..<tokens {
        let id = Int(ids[t])
        precondition(id >= 0 && id < vocab, "embeddingForward: id \(id) at token \(t) outside vocab \(vocab)")
        (out + t &* dim).update(from: table + id &* dim, count: dim)
    }
}

/// Scatter-add, ACCUMULATING: `dTable[ids[t], :] += dOut[t, :]` (repeated ids add up).
public func embeddingBackward(ids: UnsafePointer<Int32>, dOut: UnsafePointer<Float>,
                              dTable: UnsafeMutablePointer<Float>, tokens: Int, dim: Int, vocab: Int) {
    for t in 0..<tokens {
        let id = Int(ids[t])
        precondition(id >= 0 && id < vocab, "embeddingBackward: id \(id) at token \(t) outside vocab \(vocab)")
        let dst = dTable + id &* dim, src = dOut + t &* dim
        for j in 0..<dim { dst[j] += src[j] }
    }
}
