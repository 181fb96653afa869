// The narrow-K GEMM path: a short inner dimension (k <= 16) with C larger than 8 x 8. LoRA's
// up-projections and input gradients are this shape ([tokens x r] x [r x out], dh·A), and so is
// the router's input gradient (k = number of experts). Each C element is a k-step dot product, so
// the cost is writing C: the path packs op(B) once (k x n, small) and streams C row group by row
// group, whole rows at a time, instead of the blocked path's 6 x 16 tiles in column slivers.

/// Rows per register tile of the narrow-K path (4 rows x 16 columns = 8 accumulators).
let narrowKMR = 4
/// Largest k the narrow-K path takes.
let narrowKMaxK = 16

/// `C[m×n] = alpha * op(A) * op(B) + beta * C` with `k <= narrowKMaxK`, op(B) packed as
/// `k × np` rows (`np` = n rounded up to 8, zero beyond n).
struct NarrowKGemm: @unchecked Sendable {
    let g: GemmOperands
    let np: Int

    init(_ g: GemmOperands) {
        precondition(g.k <= narrowKMaxK, "narrow-K GEMM needs k <= \(narrowKMaxK)")
        self.g = g
        np = (g.n + 7) / 8 * 8
    }

    func packB(into dst: UnsafeMutablePointer<Float>) {
        for q in 0..<g.k {
            let row = dst + q &* np
            if g.transB == .noTranspose {
                row.update(from: g.bRow(q), count: g.n)
            } else {
                for j in 0..<g.n { row[j] = g.bRow(j)[q] }
            }
            for j in g.n..<np { row[j] = 0 }
        }
    }

    /// Rows `rows` of C (any sub-range gives the same values as the whole: each element is its own
    /// k-step FMA chain, then scaled).
    func run(rows: Range<Int>, packedB: UnsafePointer<Float>) {
        let k = g.k
        withUnsafeTemporaryAllocation(of: Float.self, capacity: narrowKMR * narrowKMaxK) { aTile in
            let at = aTile.baseAddress!
            var i0 = rows.lowerBound
            while i0 < rows.upperBound {
                let live = min(narrowKMR, rows.upperBound &- i0)
                // op(A)'s rows i0..<i0+4 as at[r*k + q]; rows past the end repeat the last live row.
                for r in 0..<narrowKMR {
                    let i = i0 &+ min(r, live &- 1)
                    for q in 0..<k {
                        at[r &* k &+ q] = g.transA == .noTranspose ? g.aRow(i)[q] : g.aRow(q)[i]
                    }
                }
                var c0 = 0
                while c0 &+ 16 <= g.n {
                    block16(i0: i0, live: live, c0: c0, a: at, packedB: packedB)
                    c0 &+= 16
                }
                while c0 < g.n {
                    block8(i0: i0, live: live, c0: c0, a: at, packedB: packedB)
                    c0 &+= 8
                }
                i0 &+= narrowKMR
            }
        }
    }

    @inline(__always)
    private func block16(i0: Int, live: Int, c0: Int, a: UnsafePointer<Float>, packedB: UnsafePointer<Float>) {
        let k = g.k
        var acc = Block4x16()
        var pb = UnsafeRawPointer(packedB + c0)
        let a1 = a + k, a2 = a + 2 &* k, a3 = a + 3 &* k
        for q in 0..<k {
            acc.add(a[q], a1[q], a2[q], a3[q], pb.load(as: SIMD8<Float>.self), pb.load(fromByteOffset: 32, as: SIMD8<Float>.self))
            pb += np &* 4
        }
        let update: GemmUpdate = g.beta == 0 ? .overwrite : .scale(g.beta)
        let c = g.c + (i0 &* g.ldc &+ c0)
        store8(c, acc.a00, live: 0 < live, cols: 8, update); store8(c + 8, acc.a01, live: 0 < live, cols: 8, update)
        store8(c + g.ldc, acc.a10, live: 1 < live, cols: 8, update); store8(c + (g.ldc &+ 8), acc.a11, live: 1 < live, cols: 8, update)
        store8(c + 2 &* g.ldc, acc.a20, live: 2 < live, cols: 8, update); store8(c + (2 &* g.ldc &+ 8), acc.a21, live: 2 < live, cols: 8, update)
        store8(c + 3 &* g.ldc, acc.a30, live: 3 < live, cols: 8, update); store8(c + (3 &* g.ldc &+ 8), acc.a31, live: 3 < live, cols: 8, update)
    }

    /// The last `n - c0 <= 15` columns, 8 at a time (the packed B is zero past n).
    @inline(__always)
    private func block8(i0: Int, live: Int, c0: Int, a: UnsafePointer<Float>, packedB: UnsafePointer<Float>) {
        let k = g.k
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var pb = UnsafeRawPointer(packedB + c0)
        for q in 0..<k {
            let b = pb.load(as: SIMD8<Float>.self)
            a0 = a0.addingProduct(SIMD8<Float>(repeating: a[q]), b)
            a1 = a1.addingProduct(SIMD8<Float>(repeating: a[k &+ q]), b)
            a2 = a2.addingProduct(SIMD8<Float>(repeating: a[2 &* k &+ q]), b)
            a3 = a3.addingProduct(SIMD8<Float>(repeating: a[3 &* k &+ q]), b)
            pb += np &* 4
        }
        let update: GemmUpdate = g.beta == 0 ? .overwrite : .scale(g.beta)
        let c = g.c + (i0 &* g.ldc &+ c0), cols = min(8, g.n &- c0)
        store8(c, a0, live: 0 < live, cols: cols, update)
        store8(c + g.ldc, a1, live: 1 < live, cols: cols, update)
        store8(c + 2 &* g.ldc, a2, live: 2 < live, cols: cols, update)
        store8(c + 3 &* g.ldc, a3, live: 3 < live, cols: cols, update)
    }

    /// `cols` floats of one row of C from `acc`, with the same arithmetic as `gemmStore8`.
    @inline(__always)
    private func store8(_ c: UnsafeMutablePointer<Float>, _ acc: SIMD8<Float>, live: Bool, cols: Int, _ update: GemmUpdate) {
        if !live { return }
        if cols == 8 {
            gemmStore8(c, acc, g.alpha, update)
            return
        }
        for j in 0..<cols {
            switch update {
            case .overwrite: c[j] = g.alpha * acc[j]
            case .scale(let beta): c[j] = g.alpha * acc[j] + beta * c[j]
            case .accumulate: c[j] = c[j] + g.alpha * acc[j]
            }
        }
    }
}

/// The narrow-K path for a whole problem: pack op(B) once, split C's row groups over threads.
func gemmNarrowK(_ g: GemmOperands, threads: Int) {
    let problem = NarrowKGemm(g)
    GemmScratch.withBuffer(count: g.k * problem.np) { packed in
        problem.packB(into: packed)
        let groups = (g.m + narrowKMR - 1) / narrowKMR
        let chunks = threads > 1 ? min(groups, threads * 4) : 1
        let shared = UncheckedSendable(UnsafePointer(packed))
        dynamicFor(chunks, threads: threads) { t, _ in
            let lo = groups * t / chunks * narrowKMR, hi = min(g.m, groups * (t + 1) / chunks * narrowKMR)
            problem.run(rows: lo..<hi, packedB: shared.value)
        }
    }
}
