// Packing op(A) and op(B) blocks into the contiguous micro-panels the micro-kernel streams.
// Every transpose combination is handled here, so the micro-kernel sees one layout only.

/// Packs rows `i0 ..< i0+rows` and columns `p0 ..< p0+kc` of op(A) into `ceil(rows/6)` slivers;
/// sliver `s` holds `dst[s*6*kc + p*6 + r] = op(A)[i0 + 6s + r, p0 + p]`, rows past the end zero.
func packA(_ g: GemmOperands, i0: Int, rows: Int, p0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
    let mr = gemmMR
    var s = 0
    while s &* mr < rows {
        let r0 = s &* mr
        let live = min(mr, rows &- r0)
        let out = dst + s &* mr &* kc
        if g.transA == .noTranspose {
            // Eight steps of p at a time: load 6 rows x 8 (2 zero rows), transpose, and store each
            // column of 8 at p*6 — the 2 extra floats are overwritten by the next store (the buffer
            // has `gemmPackSlack` floats of room after the last sliver).
            var p = 0
            if live == mr {
                let r = i0 &+ r0
                let rowPtr = (g.aRow(r), g.aRow(r &+ 1), g.aRow(r &+ 2), g.aRow(r &+ 3), g.aRow(r &+ 4), g.aRow(r &+ 5))
                while p &+ 8 <= kc {
                    let q = p0 &+ p
                    var t = (loadRow(rowPtr.0 + q), loadRow(rowPtr.1 + q), loadRow(rowPtr.2 + q), loadRow(rowPtr.3 + q),
                             loadRow(rowPtr.4 + q), loadRow(rowPtr.5 + q), SIMD8<Float>(), SIMD8<Float>())
                    transpose8x8(&t)
                    let o = out + p &* mr
                    storeRow(o, t.0); storeRow(o + 6, t.1); storeRow(o + 12, t.2); storeRow(o + 18, t.3)
                    storeRow(o + 24, t.4); storeRow(o + 30, t.5); storeRow(o + 36, t.6); storeRow(o + 42, t.7)
                    p &+= 8
                }
            }
            for r in 0..<live {
                let src = g.aRow(i0 &+ r0 &+ r) + p0
                for q in p..<kc { out[q &* mr &+ r] = src[q] }
            }
        } else {
            for p in 0..<kc {
                let src = g.aRow(p0 &+ p) + (i0 &+ r0)
                let o = out + p &* mr
                for r in 0..<live { o[r] = src[r] }
            }
        }
        if live < mr {
            for p in 0..<kc {
                for r in live..<mr { out[p &* mr &+ r] = 0 }
            }
        }
        s &+= 1
    }
}

/// Packs rows `p0 ..< p0+kc` and columns of op(B) for slivers `slivers` of the panel starting
/// at column `j0` (`cols` columns in the panel): sliver `s` holds
/// `dst[s*16*kc + p*16 + j] = op(B)[p0 + p, j0 + 16s + j]`, columns past the end zero.
func packB(_ g: GemmOperands, p0: Int, kc: Int, j0: Int, cols: Int, slivers: Range<Int>,
           into dst: UnsafeMutablePointer<Float>) {
    let nr = gemmNR
    for s in slivers {
        let c0 = s &* nr
        let live = min(nr, cols &- c0)
        let out = dst + s &* nr &* kc
        if g.transB == .noTranspose {
            if live == nr {
                for p in 0..<kc {
                    let src = UnsafeRawPointer(g.bRow(p0 &+ p) + (j0 &+ c0))
                    let o = UnsafeMutableRawPointer(out + p &* nr)
                    o.storeBytes(of: src.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                    o.storeBytes(of: src.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self),
                                 toByteOffset: 32, as: SIMD8<Float>.self)
                }
            } else {
                for p in 0..<kc {
                    let src = g.bRow(p0 &+ p) + (j0 &+ c0)
                    let o = out + p &* nr
                    for j in 0..<live { o[j] = src[j] }
                    for j in live..<nr { o[j] = 0 }
                }
            }
        } else {
            // B stored n x k: 8x8 blocks of (column j, step p) transposed in registers.
            var p = 0
            if live == nr {
                while p &+ 8 <= kc {
                    for half in 0..<2 {
                        let j = j0 &+ c0 &+ 8 &* half, q = p0 &+ p
                        var t = (loadRow(g.bRow(j) + q), loadRow(g.bRow(j &+ 1) + q), loadRow(g.bRow(j &+ 2) + q),
                                 loadRow(g.bRow(j &+ 3) + q), loadRow(g.bRow(j &+ 4) + q), loadRow(g.bRow(j &+ 5) + q),
                                 loadRow(g.bRow(j &+ 6) + q), loadRow(g.bRow(j &+ 7) + q))
                        transpose8x8(&t)
                        let o = out + (p &* nr &+ 8 &* half)
                        storeRow(o, t.0); storeRow(o + 16, t.1); storeRow(o + 32, t.2); storeRow(o + 48, t.3)
                        storeRow(o + 64, t.4); storeRow(o + 80, t.5); storeRow(o + 96, t.6); storeRow(o + 112, t.7)
                    }
                    p &+= 8
                }
            }
            for j in 0..<live {
                let src = g.bRow(j0 &+ c0 &+ j) + p0
                for q in p..<kc { out[q &* nr &+ j] = src[q] }
            }
            if live < nr {
                for p in 0..<kc {
                    for j in live..<nr { out[p &* nr &+ j] = 0 }
                }
            }
        }
    }
}

/// Room past the last packed A sliver for the 8-wide stores of the last step.
let gemmPackSlack = 16

@inline(__always)
func loadRow(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

@inline(__always)
func storeRow(_ p: UnsafeMutablePointer<Float>, _ v: SIMD8<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }
