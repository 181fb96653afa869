// The narrow-pair GEMM path: C with 9 to 16 columns (or rows), e.g. a 16-expert router's logits
// `x·Wgᵀ` and weight gradient `dzᵀ·x`. Two narrow GEMMs side by side read the big operand in place
// twice. Measured faster than the blocked path, which copies the whole big operand into packed
// panels and, for dzᵀ·x (k = tokens), meets at a thread barrier per k block: 60 -> 71 GFLOP/s on
// one thread, 58 -> 90-120 on two at E = 16, T = 4096, d = 576.

/// The two halves of a `.narrowPair` GEMM: C's first 8 columns and the rest when `n <= 16`,
/// otherwise its first 8 rows and the rest; each half is a `.narrow` GEMM.
func narrowHalves(_ g: GemmOperands) -> (GemmOperands, GemmOperands) {
    var first = g, second = g
    if g.n <= 16 {
        first.n = 8; second.n = g.n - 8
        second.c = g.c + 8
        if g.transB == .noTranspose {
            second.b = g.b + 8                      // columns 8... of every stored row
        } else if let rows = g.bRows {
            second.bRows = rows + 8                 // stored rows 8...
        } else {
            second.b = g.b + 8 &* g.ldb
        }
    } else {
        first.m = 8; second.m = g.m - 8
        second.c = g.c + 8 &* g.ldc
        if g.transA == .transpose {
            second.a = g.a + 8
        } else if let rows = g.aRows {
            second.aRows = rows + 8
        } else {
            second.a = g.a + 8 &* g.lda
        }
    }
    return (first, second)
}
