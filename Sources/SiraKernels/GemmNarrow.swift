// The narrow GEMM path: C has at most 8 columns (n <= 8), or at most 8 rows (m <= 8, computed as
// the transposed product). LoRA's rank-r products are this shape ([tokens x in] x [in x r], and
// the weight gradients [r x tokens] x [tokens x in]). Each element of the big operand is used
// once or a few times, so packing it would cost as much as the arithmetic: it is read in place,
// and only the small operand is packed (k x 8).

/// `narrowMR` rows x 8 columns per micro-tile: 8 accumulators cover the FMA latency; every step is
/// one B vector load and 8 broadcasts from A.
let narrowMR = 8
let narrowKC = 512
/// Depth of a step block when A is read down its columns (`aRow == 1`, e.g. the weight gradient
/// `dhᵀ x`): every step touches a new cache line and often a new page, so all row tiles take a
/// short block of steps before the next block, keeping those lines and pages hot.
let narrowColumnKC = 64

/// A GEMM with a narrow result, all operands as strided views:
/// `C[m×n] = alpha * A[m×k] * B[k×n] + beta * C` with `n <= 8`,
/// `A(i,p) = a[I(i)*aRow + P(p)*aCol]`, `B(p,j) = b[P'(p)*bRow + J(j)*bCol]`, `C(i,j) = c[i*cRow + j*cCol]`,
/// where each of `I`, `P`, `P'`, `J` is the identity or a row-index table (`GemmOperands.aRows`,
/// `bRows`, mapped onto whichever dimension runs along the stored rows).
struct NarrowGemm: @unchecked Sendable {
    var m: Int, n: Int, k: Int
    var alpha: Float, beta: Float
    var a: UnsafePointer<Float>, aRow: Int, aCol: Int
    var b: UnsafePointer<Float>, bRow: Int, bCol: Int
    var c: UnsafeMutablePointer<Float>, cRow: Int, cCol: Int
    var aIndexI: UnsafePointer<Int32>? = nil, aIndexP: UnsafePointer<Int32>? = nil
    var bIndexP: UnsafePointer<Int32>? = nil, bIndexJ: UnsafePointer<Int32>? = nil

    /// C itself when `g.n <= 8`; otherwise (`g.m <= 8`) the transposed product
    /// `Cᵀ[n×m] = op(B)ᵀ op(A)ᵀ`, whose rows are C's columns.
    init(_ g: GemmOperands) {
        m = g.m; n = g.n; k = g.k; alpha = g.alpha; beta = g.beta
        let (aRowOp, aColOp) = g.transA == .noTranspose ? (g.lda, 1) : (1, g.lda)   // op(A)(i,p)
        let (bRowOp, bColOp) = g.transB == .noTranspose ? (g.ldb, 1) : (1, g.ldb)   // op(B)(p,j)
        // The stored rows of A run along op(A)'s i when not transposed, along p when transposed.
        let (aIndexOnI, aIndexOnP) = g.transA == .noTranspose ? (g.aRows, nil) : (nil, g.aRows)
        let (bIndexOnP, bIndexOnJ) = g.transB == .noTranspose ? (g.bRows, nil) : (nil, g.bRows)
        if g.n <= 8 {
            a = g.a; aRow = aRowOp; aCol = aColOp
            b = g.b; bRow = bRowOp; bCol = bColOp
            c = g.c; cRow = g.ldc; cCol = 1
            aIndexI = aIndexOnI; aIndexP = aIndexOnP; bIndexP = bIndexOnP; bIndexJ = bIndexOnJ
        } else {
            precondition(g.m <= 8, "narrow GEMM needs m or n <= 8")
            m = g.n; n = g.m
            a = g.b; aRow = bColOp; aCol = bRowOp      // A'(j,p) = op(B)(p,j)
            b = g.a; bRow = aColOp; bCol = aRowOp      // B'(p,i) = op(A)(i,p)
            c = g.c; cRow = 1; cCol = g.ldc            // C'(j,i) = C(i,j)
            aIndexI = bIndexOnJ; aIndexP = bIndexOnP; bIndexP = aIndexOnP; bIndexJ = aIndexOnI
        }
    }

    /// A is read down its columns (`aRow == 1`, e.g. the weight gradients `dyᵀ h`, `dhᵀ x`).
    var readsColumns: Bool { aRow == 1 && aCol > 1 }

    /// Offset of A's row `i` (before the step offset).
    @inline(__always)
    func aRowOffset(_ i: Int) -> Int { (aIndexI.map { Int($0[i]) } ?? i) &* aRow }

    /// Packs B into `k x 8` rows, zero beyond column n.
    func packB(into dst: UnsafeMutablePointer<Float>) {
        for p in 0..<k {
            let o = dst + p &* 8
            let row = b + (bIndexP.map { Int($0[p]) } ?? p) &* bRow
            for j in 0..<n { o[j] = row[(bIndexJ.map { Int($0[j]) } ?? j) &* bCol] }
            for j in n..<8 { o[j] = 0 }
        }
    }

    /// Rows `rows` of C from the packed B; any row range gives the same values as the whole
    /// (the step blocks depend on the layout only).
    func run(rows: Range<Int>, packedB: UnsafePointer<Float>) {
        if readsColumns {
            if aIndexP != nil {
                runPackedSteps(rows: rows, packedB: packedB)
                return
            }
            var p0 = 0
            while p0 < k {
                let kc = min(narrowColumnKC, k &- p0)
                let update: GemmUpdate = p0 > 0 ? .accumulate : (beta == 0 ? .overwrite : .scale(beta))
                var i0 = rows.lowerBound
                while i0 < rows.upperBound {
                    tile(i0: i0, live: min(narrowMR, rows.upperBound &- i0), p0: p0, kc: kc, packedB: packedB + p0 &* 8, update: update)
                    i0 &+= narrowMR
                }
                p0 &+= kc
            }
            return
        }
        var i0 = rows.lowerBound
        while i0 < rows.upperBound {
            let live = min(narrowMR, rows.upperBound &- i0)
            var p0 = 0
            while p0 < k {
                let kc = min(narrowKC, k &- p0)
                let update: GemmUpdate = p0 > 0 ? .accumulate : (beta == 0 ? .overwrite : .scale(beta))
                tile(i0: i0, live: live, p0: p0, kc: kc, packedB: packedB + p0 &* 8, update: update)
                p0 &+= kc
            }
            i0 &+= narrowMR
        }
    }

    /// The column path when the steps are scattered stored rows (SiRA's weight gradients: an
    /// expert's tokens of dy or x): per block of `narrowColumnKC` steps, the block's slices
    /// (columns `rows` of each stored row) are first copied row by row into one contiguous,
    /// cache-resident panel, then the tiles run on it as on a dense matrix. Without the copy every
    /// tile would fault in the same scattered lines one by one, which no prefetcher anticipates
    /// (measured: 33 GFLOP/s unpacked, 53 packed, 70 for the dense equivalent). Packing tile by
    /// tile instead (contiguous per tile) measured slower (39): 72 interleaved store streams.
    /// Values equal the unpacked path's (same steps, same order).
    func runPackedSteps(rows: Range<Int>, packedB: UnsafePointer<Float>) {
        guard let index = aIndexP, !rows.isEmpty else { return }
        let width = rows.count
        GemmScratch.withBuffer(count: min(narrowColumnKC, k) * width) { panel in
            var view = self
            view.a = UnsafePointer(panel); view.aRow = 1; view.aCol = width; view.aIndexP = nil
            view.c = c + rows.lowerBound &* cRow
            var p0 = 0
            while p0 < k {
                let kc = min(narrowColumnKC, k &- p0)
                for q in 0..<kc {
                    (panel + q &* width).update(from: a + (Int(index[p0 &+ q]) &* aCol &+ rows.lowerBound), count: width)
                }
                let update: GemmUpdate = p0 > 0 ? .accumulate : (beta == 0 ? .overwrite : .scale(beta))
                var i0 = 0
                while i0 < width {
                    view.tile(i0: i0, live: min(narrowMR, width &- i0), p0: 0, kc: kc, packedB: packedB + p0 &* 8, update: update)
                    i0 &+= narrowMR
                }
                p0 &+= kc
            }
        }
    }

    @inline(__always)
    func tile(i0: Int, live: Int, p0: Int, kc: Int, packedB: UnsafePointer<Float>, update: GemmUpdate) {
        // Rows past the end re-read the last live row; their results are discarded.
        let last = i0 &+ live &- 1
        let r0 = a + aRowOffset(i0)
        let r1 = a + aRowOffset(min(i0 &+ 1, last)), r2 = a + aRowOffset(min(i0 &+ 2, last))
        let r3 = a + aRowOffset(min(i0 &+ 3, last)), r4 = a + aRowOffset(min(i0 &+ 4, last))
        let r5 = a + aRowOffset(min(i0 &+ 5, last)), r6 = a + aRowOffset(min(i0 &+ 6, last))
        let r7 = a + aRowOffset(min(i0 &+ 7, last))
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
        var c4 = SIMD8<Float>(), c5 = SIMD8<Float>(), c6 = SIMD8<Float>(), c7 = SIMD8<Float>()
        var pb = UnsafeRawPointer(packedB)
        // One k step: column `off` of the eight rows times the packed row of B.
        @inline(__always) func step(_ off: Int) {
            let bv = pb.load(as: SIMD8<Float>.self)
            c0 = c0.addingProduct(SIMD8(repeating: r0[off]), bv)
            c1 = c1.addingProduct(SIMD8(repeating: r1[off]), bv)
            c2 = c2.addingProduct(SIMD8(repeating: r2[off]), bv)
            c3 = c3.addingProduct(SIMD8(repeating: r3[off]), bv)
            c4 = c4.addingProduct(SIMD8(repeating: r4[off]), bv)
            c5 = c5.addingProduct(SIMD8(repeating: r5[off]), bv)
            c6 = c6.addingProduct(SIMD8(repeating: r6[off]), bv)
            c7 = c7.addingProduct(SIMD8(repeating: r7[off]), bv)
            pb += 32
        }
        if let index = aIndexP {
            // The steps are scattered rows of the stored matrix (SiRA's tokens of one expert).
            let ip = index + p0
            for q in 0..<kc { step(Int(ip[q]) &* aCol) }
        } else {
            var off = p0 &* aCol
            for _ in 0..<kc {
                step(off)
                off &+= aCol
            }
        }
        if live == narrowMR && cCol == 1 && n == 8 {
            gemmStore8(c + i0 &* cRow, c0, alpha, update); gemmStore8(c + (i0 &+ 1) &* cRow, c1, alpha, update)
            gemmStore8(c + (i0 &+ 2) &* cRow, c2, alpha, update); gemmStore8(c + (i0 &+ 3) &* cRow, c3, alpha, update)
            gemmStore8(c + (i0 &+ 4) &* cRow, c4, alpha, update); gemmStore8(c + (i0 &+ 5) &* cRow, c5, alpha, update)
            gemmStore8(c + (i0 &+ 6) &* cRow, c6, alpha, update); gemmStore8(c + (i0 &+ 7) &* cRow, c7, alpha, update)
            return
        }
        if live == narrowMR && cRow == 1 {
            // C is the transposed product: transpose the tile so each column of it is a row of C.
            var t = (c0, c1, c2, c3, c4, c5, c6, c7)
            transpose8x8(&t)
            withUnsafeBytes(of: &t) { raw in
                for j in 0..<n {
                    gemmStore8(c + (i0 &+ j &* cCol), raw.load(fromByteOffset: j &* 32, as: SIMD8<Float>.self), alpha, update)
                }
            }
            return
        }
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 8) { t in
            t[0] = c0; t[1] = c1; t[2] = c2; t[3] = c3; t[4] = c4; t[5] = c5; t[6] = c6; t[7] = c7
            let acc = UnsafeRawPointer(t.baseAddress!).assumingMemoryBound(to: Float.self)
            for r in 0..<live {
                let row = c + (i0 &+ r) &* cRow
                for j in 0..<n {
                    let at = row + j &* cCol, v = acc[r &* 8 &+ j]
                    switch update {
                    case .overwrite: at.pointee = alpha * v
                    case .scale(let beta): at.pointee = alpha * v + beta * at.pointee
                    case .accumulate: at.pointee = at.pointee + alpha * v
                    }
                }
            }
        }
    }
}

/// Eight contiguous floats of C updated from `v` with the same arithmetic as the scalar path.
@inline(__always)
func gemmStore8(_ c: UnsafeMutablePointer<Float>, _ v: SIMD8<Float>, _ alpha: Float, _ update: GemmUpdate) {
    let raw = UnsafeMutableRawPointer(c)
    var r = SIMD8(repeating: alpha) * v
    switch update {
    case .overwrite: break
    case .scale(let beta): r = r + SIMD8(repeating: beta) * raw.loadUnaligned(as: SIMD8<Float>.self)
    case .accumulate: r = raw.loadUnaligned(as: SIMD8<Float>.self) + r
    }
    raw.storeBytes(of: r, as: SIMD8<Float>.self)
}

/// The narrow path for a whole problem: pack B once, split C's rows over threads.
func gemmNarrow(_ g: GemmOperands, threads: Int, minWork: Int = gemmMinWorkPerThread) {
    let problem = NarrowGemm(g)
    GemmScratch.withBuffer(count: problem.k * 8) { packed in
        problem.packB(into: packed)
        let tiles = (problem.m + narrowMR - 1) / narrowMR
        let useful = max(1, min(threads, problem.m * problem.k * 8 / max(1, minWork / 2)))
        // Rows of A are claimed four chunks per thread; but when A is read down its columns, a
        // chunk reads a stripe of every stored row, and narrow stripes defeat the prefetcher:
        // one wide stripe per thread there.
        let chunks = useful > 1 ? min(tiles, problem.readsColumns ? useful : useful * 4) : 1
        let shared = UncheckedSendable(UnsafePointer(packed))
        dynamicFor(chunks, threads: useful) { t, _ in
            let lo = tiles * t / chunks * narrowMR, hi = min(problem.m, tiles * (t + 1) / chunks * narrowMR)
            problem.run(rows: lo..<hi, packedB: shared.value)
        }
    }
}
