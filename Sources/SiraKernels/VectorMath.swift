// Vectorised transcendental functions for the elementwise kernels (softmax, cross-entropy, SiLU).
// libm's expf is a call per element and blocks vectorisation; this is a branch-free SIMD8 version.

/// `e^x` per lane (Cephes expf: about 1 ulp) for x in [-87.3, 88.3]; below, 0; above, +inf;
/// NaN propagates.
@inline(__always)
func simdExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // x = n ln2 + r with |r| <= ln2/2; e^x = 2^n e^r, e^r = 1 + r + r² P(r).
    let clamped = laneMin(laneMax(x, SIMD8(repeating: -87.3)), SIMD8(repeating: 88.3))
    let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
    var r = clamped - n * 0.693_145_751_953_125          // ln2, high bits (n * this is exact)
    r = r - n * 1.428_606_765_330_187_045e-6             // ln2, low part
    var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let er = p * (r * r) + r + 1
    // 2^n without SIMD8<Int32>(n), which is a generic lane-by-lane conversion (it was 14% of a
    // training step): n + 2²³ + 127 holds 127 + n in its low mantissa bits (n is an integer in
    // [-126, 128] after the clamp), shifted from there into the exponent field.
    let biased = unsafeBitCast(n + 8_388_735, to: SIMD8<Int32>.self) &- 0x4B00_0000
    var result = er * unsafeBitCast(biased &<< 23, to: SIMD8<Float>.self)
    result.replace(with: 0, where: x .< -87.3)
    result.replace(with: .infinity, where: x .> 88.3)
    result.replace(with: x, where: x .!= x)
    return result
}

/// `1 / (1 + e^-x)` per lane.
@inline(__always)
func simdSigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + simdExp(-x)) }

/// Applies `body` to `count` floats in SIMD8 steps; the tail goes through a zero-padded vector,
/// so every element sees the same arithmetic.
@inline(__always)
func forEachSIMD8(_ count: Int, _ body: (Int, Int) -> Void) {
    var i = 0
    while i &+ 8 <= count { body(i, 8); i &+= 8 }
    if i < count { body(i, count &- i) }
}

@inline(__always)
func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, fill: Float = 0) -> SIMD8<Float> {
    if n == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
    var v = SIMD8<Float>(repeating: fill)
    for j in 0..<n { v[j] = p[j] }
    return v
}

@inline(__always)
func storePartial(_ p: UnsafeMutablePointer<Float>, _ v: SIMD8<Float>, _ n: Int) {
    if n == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self); return }
    for j in 0..<n { p[j] = v[j] }
}

/// Per-lane maximum as one compare and blend. The standard library's `pointwiseMax` is a generic
/// lane-by-lane loop that is not inlined (4% of a training step in a profile). A NaN in `b` is
/// ignored, as IEEE maxNum (and `pointwiseMax`) ignore it; one in `a` stays.
@inline(__always)
func laneMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .> a) }

/// Per-lane minimum, as `laneMax`.
@inline(__always)
func laneMin(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .< a) }

/// Lanes `n..<8` of a partial vector set to `value`.
@inline(__always)
func maskTail(_ v: SIMD8<Float>, _ n: Int, _ value: Float) -> SIMD8<Float> {
    if n == 8 { return v }
    var out = v
    for j in n..<8 { out[j] = value }
    return out
}

/// Splits `0..<count` into at most `threads` contiguous ranges of at least `minimum` items (one
/// range when the work is small) and runs them in parallel.
@inline(__always)
func parallelRanges(_ count: Int, minimum: Int, threads: Int?, _ body: (Range<Int>) -> Void) {
    let chunks = max(1, min(KernelThreads.resolve(threads), count / max(minimum, 1)))
    if chunks == 1 {
        if count > 0 { body(0..<count) }
        return
    }
    parallelFor(chunks, threads: chunks) { t in
        body((count * t / chunks)..<(count * (t + 1) / chunks))
    }
}
