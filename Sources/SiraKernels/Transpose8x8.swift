/// Transposes an 8x8 block held as eight SIMD8 rows, in registers.
///
/// Why it works: deinterleaving the 64 elements (evens first, then odds) rotates the 6-bit index
/// `row*8 + col` right by one bit; three rotations swap the row and column bits. Each step is a
/// pair of shuffles per output row (`vshufps`/`vpermps` on AVX2).
@inline(__always)
func transpose8x8(_ r: inout (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
                              SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
    for _ in 0..<3 {
        let p0 = SIMD16(lowHalf: r.0, highHalf: r.1), p1 = SIMD16(lowHalf: r.2, highHalf: r.3)
        let p2 = SIMD16(lowHalf: r.4, highHalf: r.5), p3 = SIMD16(lowHalf: r.6, highHalf: r.7)
        r = (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf)
    }
}
