/// Four rows × 16 columns of FMA accumulators: the register block of the narrow-K GEMM and of the
/// expert combine. `a<row><half>` holds columns `8·half ..< 8·half + 8` of the row.
struct Block4x16 {
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()

    /// Row `i` += `x_i · (b0 | b1)`: one step of the shared dimension.
    @inline(__always)
    mutating func add(_ x0: Float, _ x1: Float, _ x2: Float, _ x3: Float, _ b0: SIMD8<Float>, _ b1: SIMD8<Float>) {
        var v = SIMD8<Float>(repeating: x0)
        a00 = a00.addingProduct(v, b0); a01 = a01.addingProduct(v, b1)
        v = SIMD8<Float>(repeating: x1)
        a10 = a10.addingProduct(v, b0); a11 = a11.addingProduct(v, b1)
        v = SIMD8<Float>(repeating: x2)
        a20 = a20.addingProduct(v, b0); a21 = a21.addingProduct(v, b1)
        v = SIMD8<Float>(repeating: x3)
        a30 = a30.addingProduct(v, b0); a31 = a31.addingProduct(v, b1)
    }
}
