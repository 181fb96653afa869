// SiRA's combine step (each token's expert outputs added back into its row) fused with the
// experts' last, rank-r GEMM.

/// ACCUMULATING: for every token `t` and each of its `slots` assignments `j` whose row was
/// computed (`row = slotRows[t*slots + j] >= 0`, `e = slotExperts[t*slots + j]`):
///
///     y[t, 0..<n] += rowScale[row] * h[row, 0..<rank] · W_e        (rowScale nil: 1)
///
/// where `W_e = op(weights[e])` is `rank × n` (`.noTranspose`: stored `rank × n` with row stride
/// `ldw`, e.g. a LoRA A `[r, in]`; `.transpose`: stored `n × rank`, e.g. a LoRA B `[out, r]`).
///
/// This replaces "per-expert `h_e · W_e` into a `[rows × n]` buffer, then a weighted scatter-add":
/// each row of y is read and written once and no `rows × n` intermediate exists. The rank is
/// small (a LoRA rank), so the per-expert weights are packed once (`experts × rank × n` floats)
/// and stay in cache. Tokens are split over threads, each row of y has one writer and sums its
/// slots in slot order, so results do not depend on the thread count.
public func expertCombineAdd(tokens: Int, slots: Int, slotRows: UnsafePointer<Int32>, slotExperts: UnsafePointer<Int32>,
                             h: UnsafePointer<Float>, ldh: Int, rank: Int, rowScale: UnsafePointer<Float>?,
                             _ transW: Transpose, weights: [UnsafePointer<Float>], ldw: Int,
                             n: Int, y: UnsafeMutablePointer<Float>, ldy: Int, threads: Int? = nil) {
    let experts = weights.count
    precondition(tokens >= 0 && slots >= 0 && rank >= 0 && n >= 0, "expertCombineAdd: negative size")
    precondition(ldy >= n && ldh >= rank, "expertCombineAdd: ldy=\(ldy) or ldh=\(ldh) too small")
    precondition(ldw >= (transW == .noTranspose ? n : rank), "expertCombineAdd: ldw=\(ldw) too small")
    if tokens == 0 || slots == 0 || rank == 0 || n == 0 { return }
    for s in 0..<(tokens * slots) where slotRows[s] >= 0 {
        precondition(slotExperts[s] >= 0 && Int(slotExperts[s]) < experts,
                     "expertCombineAdd: slot \(s) names expert \(slotExperts[s]) of \(experts)")
    }
    let np = (n + 7) / 8 * 8
    GemmScratch.withBuffer(count: experts * rank * np) { packed in
        for e in 0..<experts {
            let src = weights[e]
            for q in 0..<rank {
                let dst = packed + (e &* rank &+ q) &* np
                if transW == .noTranspose {
                    dst.update(from: src + q &* ldw, count: n)
                } else {
                    for j in 0..<n { dst[j] = src[j &* ldw &+ q] }
                }
                for j in n..<np { dst[j] = 0 }
            }
        }
        let shared = UncheckedSendable((UnsafePointer(packed), slotRows, slotExperts, h, rowScale, y))
        let work = slots * rank * n
        parallelRanges(tokens, minimum: max(1, (1 << 18) / max(work, 1)), threads: threads) { range in
            let (packed, slotRows, slotExperts, h, rowScale, y) = shared.value
            withUnsafeTemporaryAllocation(of: Float.self, capacity: slots * rank) { scaled in
                withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: slots) { slotWeights in
                    let hs = scaled.baseAddress!, ws = slotWeights.baseAddress!
                    for t in range {
                        var live = 0
                        for j in 0..<slots {
                            let row = Int(slotRows[t &* slots &+ j])
                            if row < 0 { continue }
                            let s = rowScale?[row] ?? 1, hr = h + row &* ldh, out = hs + live &* rank
                            for q in 0..<rank { out[q] = s * hr[q] }
                            ws[live] = packed + Int(slotExperts[t &* slots &+ j]) &* rank &* np
                            live &+= 1
                        }
                        if live > 0 {
                            combineRow(y + t &* ldy, n: n, np: np, rank: rank, live: live, hs: hs, ws: ws)
                        }
                    }
                }
            }
        }
    }
}

/// `yRow[0..<n] += Σ_{j < live} Σ_q hs[j*rank + q] * ws[j][q*np + 0..<n]`, each element summed
/// in the same order (y first, then slot by slot, q ascending) whatever its column block.
@inline(__always)
private func combineRow(_ yRow: UnsafeMutablePointer<Float>, n: Int, np: Int, rank: Int, live: Int,
                        hs: UnsafePointer<Float>, ws: UnsafePointer<UnsafePointer<Float>>) {
    let yr = UnsafeMutableRawPointer(yRow)
    var c = 0
    while c &+ 32 <= n {
        let o = c &* 4
        var a0 = yr.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
        var a1 = yr.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
        var a2 = yr.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self)
        var a3 = yr.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self)
        for j in 0..<live {
            let hp = hs + j &* rank
            var wq = UnsafeRawPointer(ws[j] + c)
            for q in 0..<rank {
                let hv = SIMD8<Float>(repeating: hp[q])
                a0 = a0.addingProduct(hv, wq.loadUnaligned(as: SIMD8<Float>.self))
                a1 = a1.addingProduct(hv, wq.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(hv, wq.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(hv, wq.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                wq += np &* 4
            }
        }
        yr.storeBytes(of: a0, toByteOffset: o, as: SIMD8<Float>.self)
        yr.storeBytes(of: a1, toByteOffset: o &+ 32, as: SIMD8<Float>.self)
        yr.storeBytes(of: a2, toByteOffset: o &+ 64, as: SIMD8<Float>.self)
        yr.storeBytes(of: a3, toByteOffset: o &+ 96, as: SIMD8<Float>.self)
        c &+= 32
    }
    while c &+ 8 <= n {
        var a0 = yr.loadUnaligned(fromByteOffset: c &* 4, as: SIMD8<Float>.self)
        for j in 0..<live {
            let hp = hs + j &* rank
            var wq = UnsafeRawPointer(ws[j] + c)
            for q in 0..<rank {
                a0 = a0.addingProduct(SIMD8<Float>(repeating: hp[q]), wq.loadUnaligned(as: SIMD8<Float>.self))
                wq += np &* 4
            }
        }
        yr.storeBytes(of: a0, toByteOffset: c &* 4, as: SIMD8<Float>.self)
        c &+= 8
    }
    while c < n {
        var a = yRow[c]
        for j in 0..<live {
            let hp = hs + j &* rank, wc = ws[j] + c
            for q in 0..<rank { a = a.addingProduct(hp[q], wc[q &* np]) }
        }
        yRow[c] = a
        c &+= 1
    }
}
