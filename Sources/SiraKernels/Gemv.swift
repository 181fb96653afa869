/// Matrix-vector path for one row of C (generation, m == 1):
/// `c[j] = alpha * Σ_p x[p] * op(B)[p, j] + beta * c[j]` with `x` = op(A)'s only row.
/// Columns are split over threads; each column's sum is computed by one thread in a fixed order.
func gemv(_ g: GemmOperands, threads: Int, minWork: Int = gemmMinWorkPerThread) {
    let k = g.k, n = g.n
    // op(A)'s row is contiguous when A is stored 1 x k; stored k x 1 it is strided: copy it.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: g.transA == .noTranspose ? 0 : k) { tmp in
        let x: UnsafePointer<Float>
        if g.transA == .noTranspose {
            x = g.aRow(0)
        } else {
            for p in 0..<k { tmp[p] = g.aRow(p)[0] }
            x = UnsafePointer(tmp.baseAddress!)
        }
        let shared = UncheckedSendable(x)
        // Column blocks of 64 (eight SIMD8 accumulators); enough work per thread to pay for a dispatch.
        let blocks = (n + 63) / 64
        let chunks = max(1, min(threads, blocks, (n * k) / max(1, minWork / 8)))
        parallelFor(chunks, threads: chunks) { t in
            let lo = (blocks * t / chunks) * 64, hi = min(n, (blocks * (t + 1) / chunks) * 64)
            if g.transB == .noTranspose {
                gemvRowsOfB(g, x: shared.value, columns: lo..<hi)
            } else {
                for j in lo..<hi {
                    let dot = dotProduct(shared.value, g.bRow(j), k)
                    gemvStore(g, j, dot)
                }
            }
        }
    }
}

@inline(__always)
func gemvStore(_ g: GemmOperands, _ j: Int, _ dot: Float) {
    g.c[j] = g.beta == 0 ? g.alpha * dot : g.alpha * dot + g.beta * g.c[j]
}

/// B stored k x n: accumulate `x[p] * B[p, j0..<j0+64]` down the rows, 64 columns at a time.
@inline(__always)
func gemvRowsOfB(_ g: GemmOperands, x: UnsafePointer<Float>, columns: Range<Int>) {
    var j0 = columns.lowerBound
    while j0 + 64 <= columns.upperBound {
        var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                   SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        for p in 0..<g.k {
            let xp = SIMD8<Float>(repeating: x[p])
            let row = UnsafeRawPointer(g.bRow(p) + j0)
            acc.0 = acc.0.addingProduct(xp, row.loadUnaligned(as: SIMD8<Float>.self))
            acc.1 = acc.1.addingProduct(xp, row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            acc.2 = acc.2.addingProduct(xp, row.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
            acc.3 = acc.3.addingProduct(xp, row.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
            acc.4 = acc.4.addingProduct(xp, row.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self))
            acc.5 = acc.5.addingProduct(xp, row.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self))
            acc.6 = acc.6.addingProduct(xp, row.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self))
            acc.7 = acc.7.addingProduct(xp, row.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self))
        }
        withUnsafeBytes(of: &acc) { raw in
            let sums = raw.assumingMemoryBound(to: Float.self)
            for j in 0..<64 { gemvStore(g, j0 &+ j, sums[j]) }
        }
        j0 += 64
    }
    // Tail columns: one at a time down the rows, same order of summation over p.
    for j in j0..<columns.upperBound {
        var s: Float = 0
        for p in 0..<g.k { s = s.addingProduct(x[p], g.bRow(p)[j]) }
        gemvStore(g, j, s)
    }
}

/// Σ x[p] * y[p] over `count` floats with four SIMD8 accumulators (then a fixed-order reduction).
@inline(__always)
func dotProduct(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
    var p = 0
    while p &+ 32 <= count {
        let o = p &* 4
        a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
        a1 = a1.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self))
        a2 = a2.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self))
        a3 = a3.addingProduct(rx.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self))
        p &+= 32
    }
    while p &+ 8 <= count {
        a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: p &* 4, as: SIMD8<Float>.self), ry.loadUnaligned(fromByteOffset: p &* 4, as: SIMD8<Float>.self))
        p &+= 8
    }
    var s = ((a0 + a1) + (a2 + a3)).sum()
    while p < count { s = s.addingProduct(x[p], y[p]); p &+= 1 }
    return s
}
