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
/// no `rows × n` intermediate exists. The rank is small (a LoRA rank), so the per-expert weights
/// are packed once (`experts × rank × n` floats). Tokens go in blocks of `combineTokenBlock`
/// (their rows of y stay in cache); within a block the contributions go expert by expert, four
/// tokens at a time, so one expert's packed weights serve four rows from L1. Each element of y
/// adds its contributions in ascending expert order (slot order for repeats), each as a
/// `rank`-step FMA chain, whatever the blocking: results do not depend on the thread count.
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
        let combine = CombineBlocks(slots: slots, slotRows: slotRows, slotExperts: slotExperts, h: h, ldh: ldh, rank: rank,
                                    rowScale: rowScale, packed: UnsafePointer(packed), np: np, experts: experts, n: n,
                                    y: y, ldy: ldy)
        let blocks = (tokens + combineTokenBlock - 1) / combineTokenBlock
        let useful = max(1, min(KernelThreads.resolve(threads), tokens * slots * rank * n / (1 << 18)))
        let chunks = useful > 1 ? min(blocks, useful * 4) : 1
        dynamicFor(chunks, threads: useful) { c, _ in
            for b in (blocks * c / chunks)..<(blocks * (c + 1) / chunks) {
                combine.run(b * combineTokenBlock..<min(tokens, (b + 1) * combineTokenBlock))
            }
        }
    }
}

/// Tokens per block of `expertCombineAdd` (their rows of y, 64 x 576 floats = 147 KB, stay in L2).
let combineTokenBlock = 64

/// One `expertCombineAdd` call's operands, shared by the threads.
private struct CombineBlocks: @unchecked Sendable {
    let slots: Int, slotRows: UnsafePointer<Int32>, slotExperts: UnsafePointer<Int32>
    let h: UnsafePointer<Float>, ldh: Int, rank: Int, rowScale: UnsafePointer<Float>?
    let packed: UnsafePointer<Float>, np: Int, experts: Int, n: Int
    let y: UnsafeMutablePointer<Float>, ldy: Int

    /// The tokens `range` (one block): their computed slots sorted by expert (a stable counting
    /// sort, so by token then slot within an expert), then each expert's entries four at a time.
    func run(_ range: Range<Int>) {
        let count = range.count &* slots
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: experts &+ 1) { startsBuffer in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: count) { sortedBuffer in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 &* rank) { scaledBuffer in
            let starts = startsBuffer.baseAddress!, sorted = sortedBuffer.baseAddress!, hs = scaledBuffer.baseAddress!
            for e in 0...experts { starts[e] = 0 }
            let first = range.lowerBound &* slots
            for s in first..<(first &+ count) where slotRows[s] >= 0 { starts[Int(slotExperts[s]) &+ 1] &+= 1 }
            for e in 0..<experts { starts[e &+ 1] &+= starts[e] }
            // `sorted` holds slot ids; `starts[e]` advances to the end of e's entries while filling.
            for s in first..<(first &+ count) where slotRows[s] >= 0 {
                let e = Int(slotExperts[s])
                sorted[Int(starts[e])] = Int32(s)
                starts[e] &+= 1
            }
            var lo = 0
            for e in 0..<experts {
                let hi = Int(starts[e])
                let w = packed + e &* rank &* np
                var i = lo
                while i < hi {
                    // Four entries of distinct tokens (a token's repeats of one expert are adjacent).
                    if i &+ 4 <= hi && distinctTokens(sorted + i) {
                        for r in 0..<4 { scale(slot: Int(sorted[i &+ r]), into: hs + r &* rank) }
                        let t0 = Int(sorted[i]) / slots, t1 = Int(sorted[i &+ 1]) / slots
                        let t2 = Int(sorted[i &+ 2]) / slots, t3 = Int(sorted[i &+ 3]) / slots
                        combineFourRows(y + t0 &* ldy, y + t1 &* ldy, y + t2 &* ldy, y + t3 &* ldy,
                                        n: n, np: np, rank: rank, hs: hs, w: w)
                        i &+= 4
                    } else {
                        scale(slot: Int(sorted[i]), into: hs)
                        withUnsafePointer(to: w) { ws in
                            combineRow(y + (Int(sorted[i]) / slots) &* ldy, n: n, np: np, rank: rank, live: 1, hs: hs, ws: ws)
                        }
                        i &+= 1
                    }
                }
                lo = hi
            }
        } } }
    }

    @inline(__always)
    private func distinctTokens(_ s: UnsafePointer<Int32>) -> Bool {
        let t0 = Int(s[0]) / slots, t1 = Int(s[1]) / slots, t2 = Int(s[2]) / slots, t3 = Int(s[3]) / slots
        return t0 != t1 && t1 != t2 && t2 != t3
    }

    /// `out[0..<rank] = rowScale[row] * h[row, 0..<rank]` for the slot's row.
    @inline(__always)
    private func scale(slot: Int, into out: UnsafeMutablePointer<Float>) {
        let row = Int(slotRows[slot])
        let s = rowScale?[row] ?? 1, hr = h + row &* ldh
        for q in 0..<rank { out[q] = s * hr[q] }
    }
}

/// Four rows of y (distinct) `+= hs[r*rank + q] * w[q*np + 0..<n]`, 16 columns at a time, with
/// the same per-element arithmetic as `combineRow`.
@inline(__always)
private func combineFourRows(_ y0: UnsafeMutablePointer<Float>, _ y1: UnsafeMutablePointer<Float>,
                             _ y2: UnsafeMutablePointer<Float>, _ y3: UnsafeMutablePointer<Float>,
                             n: Int, np: Int, rank: Int, hs: UnsafePointer<Float>, w: UnsafePointer<Float>) {
    let r0 = UnsafeMutableRawPointer(y0), r1 = UnsafeMutableRawPointer(y1)
    let r2 = UnsafeMutableRawPointer(y2), r3 = UnsafeMutableRawPointer(y3)
    let h1 = hs + rank, h2 = hs + 2 &* rank, h3 = hs + 3 &* rank
    var c = 0
    while c &+ 16 <= n {
        let o = c &* 4
        func load(_ r: UnsafeMutableRawPointer, _ at: Int) -> SIMD8<Float> { r.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) }
        var acc = Block4x16(a00: load(r0, o), a01: load(r0, o &+ 32), a10: load(r1, o), a11: load(r1, o &+ 32),
                            a20: load(r2, o), a21: load(r2, o &+ 32), a30: load(r3, o), a31: load(r3, o &+ 32))
        var wq = UnsafeRawPointer(w + c)
        for q in 0..<rank {
            acc.add(hs[q], h1[q], h2[q], h3[q], wq.load(as: SIMD8<Float>.self), wq.load(fromByteOffset: 32, as: SIMD8<Float>.self))
            wq += np &* 4
        }
        r0.storeBytes(of: acc.a00, toByteOffset: o, as: SIMD8<Float>.self); r0.storeBytes(of: acc.a01, toByteOffset: o &+ 32, as: SIMD8<Float>.self)
        r1.storeBytes(of: acc.a10, toByteOffset: o, as: SIMD8<Float>.self); r1.storeBytes(of: acc.a11, toByteOffset: o &+ 32, as: SIMD8<Float>.self)
        r2.storeBytes(of: acc.a20, toByteOffset: o, as: SIMD8<Float>.self); r2.storeBytes(of: acc.a21, toByteOffset: o &+ 32, as: SIMD8<Float>.self)
        r3.storeBytes(of: acc.a30, toByteOffset: o, as: SIMD8<Float>.self); r3.storeBytes(of: acc.a31, toByteOffset: o &+ 32, as: SIMD8<Float>.self)
        c &+= 16
    }
    if c < n {
        // The last columns row by row, on the one-row kernel from column c.
        withUnsafePointer(to: w + c) { ws in
            combineRow(y0 + c, n: n &- c, np: np, rank: rank, live: 1, hs: hs, ws: ws)
            combineRow(y1 + c, n: n &- c, np: np, rank: rank, live: 1, hs: h1, ws: ws)
            combineRow(y2 + c, n: n &- c, np: np, rank: rank, live: 1, hs: h2, ws: ws)
            combineRow(y3 + c, n: n &- c, np: np, rank: rank, live: 1, hs: h3, ws: ws)
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
