/// The algorithm for a GEMM shape. Chosen from the shape alone (never from the thread count or a
/// row sub-range), so results do not depend on how the work is split.
enum GemmPath {
    /// One row of C: matrix-vector.
    case gemv
    /// At most 8 columns (or 8 rows) of C: the big operand read in place.
    case narrow
    /// A short inner dimension (k <= 16): C streamed row group by row group.
    case narrowK
    /// 9 to 16 columns (or rows) of C: two narrow GEMMs side by side, the big operand read in
    /// place twice rather than packed (a 16-expert router: `x·Wgᵀ`, `dzᵀ·x`).
    case narrowPair
    /// Everything else: packed panels and the 6x16 micro-kernel.
    case blocked

    init(_ g: GemmOperands) {
        if g.m == 1 { self = .gemv }
        else if g.n <= 8 || g.m <= 8 { self = .narrow }
        else if g.k <= narrowKMaxK { self = .narrowK }
        else if g.n <= 16 || g.m <= 16 { self = .narrowPair }
        else { self = .blocked }
    }
}

/// Multiply-adds a thread should get before a GEMM is split: below this, waking another thread
/// costs more than it saves.
let gemmMinWorkPerThread = 1 << 20

/// `minWork` (multiply-adds per thread) is lowered only by tests, to run small shapes threaded.
func gemmDispatch(_ g: GemmOperands, threads requested: Int, blocking: GemmBlocking = .zen3,
                  minWork: Int = gemmMinWorkPerThread) {
    let work = Double(g.m) * Double(g.n) * Double(g.k)
    let threads = max(1, min(requested, Int(min(work / Double(max(minWork, 1)), 1048576.0))))
    switch GemmPath(g) {
    case .gemv:
        gemv(g, threads: threads, minWork: minWork)
    case .narrow:
        gemmNarrow(g, threads: threads, minWork: minWork)
    case .narrowK:
        gemmNarrowK(g, threads: threads)
    case .narrowPair:
        let (first, second) = narrowHalves(g)
        gemmNarrow(first, threads: threads, minWork: minWork)
        gemmNarrow(second, threads: threads, minWork: minWork)
    case .blocked:
        if threads <= 1 {
            gemmBlockedRows(g, rows: 0..<g.m, blocking: blocking)
        } else {
            gemmBlockedParallel(g, threads: threads, blocking: blocking)
        }
    }
}

/// `update` for the kc block starting at `p0`: beta applies once, in the first block.
@inline(__always)
func gemmUpdate(_ g: GemmOperands, p0: Int) -> GemmUpdate {
    if p0 > 0 { return .accumulate }
    return g.beta == 0 ? .overwrite : .scale(g.beta)
}

/// Single-threaded blocked GEMM (BLIS loop order jc, pc, ic, jr, ir) over rows `rows` of C.
/// `rows.lowerBound` must be a multiple of the tile height unless it is the problem's last tile,
/// so tiles line up with those of a full-problem call.
func gemmBlockedRows(_ g: GemmOperands, rows: Range<Int>, blocking: GemmBlocking) {
    if rows.isEmpty { return }
    let kcMax = min(blocking.kc, g.k)
    let ncMax = min(blocking.nc, (g.n + gemmNR - 1) / gemmNR * gemmNR)
    let mcMax = min(blocking.mc, (rows.count + gemmMR - 1) / gemmMR * gemmMR)
    GemmScratch.withBuffer(count: kcMax * ncMax + kcMax * mcMax + gemmPackSlack) { buffer in
        let packedB = buffer, packedA = buffer + kcMax * ncMax
        gemmForEachPanel(g, blocking: blocking) { j0, nc, slivers, p0, kc in
            packB(g, p0: p0, kc: kc, j0: j0, cols: nc, slivers: 0..<slivers, into: packedB)
            gemmComputePanel(g, rows: rows, j0: j0, cols: nc, slivers: 0..<slivers, p0: p0, kc: kc,
                             packedB: packedB, packedA: packedA, mc: blocking.mc)
        }
    }
}

/// The two outer BLIS loops (jc over column panels of `nc`, pc over depth blocks of `kc`), in
/// order: `body(j0, nc, slivers, p0, kc)` packs and computes one B panel.
@inline(__always)
func gemmForEachPanel(_ g: GemmOperands, blocking: GemmBlocking,
                      _ body: (_ j0: Int, _ nc: Int, _ slivers: Int, _ p0: Int, _ kc: Int) -> Void) {
    var j0 = 0
    while j0 < g.n {
        let nc = min(blocking.nc, g.n - j0)
        let slivers = (nc + gemmNR - 1) / gemmNR
        var p0 = 0
        while p0 < g.k {
            let kc = min(blocking.kc, g.k - p0)
            body(j0, nc, slivers, p0, kc)
            p0 += kc
        }
        j0 += nc
    }
}

/// For one packed B panel (kc x nc at column j0), the rows `rows` of C: pack A blocks of `mc`
/// rows and run the micro-kernel over B slivers `slivers` (jr loop outside, ir inside, so one B
/// sliver stays in L1 while the A block streams from L2).
@inline(__always)
func gemmComputePanel(_ g: GemmOperands, rows: Range<Int>, j0: Int, cols: Int, slivers: Range<Int>,
                      p0: Int, kc: Int, packedB: UnsafeMutablePointer<Float>, packedA: UnsafeMutablePointer<Float>,
                      mc: Int) {
    let update = gemmUpdate(g, p0: p0)
    var i0 = rows.lowerBound
    while i0 < rows.upperBound {
        let mcNow = min(mc, rows.upperBound - i0)
        packA(g, i0: i0, rows: mcNow, p0: p0, kc: kc, into: packedA)
        for s in slivers {
            let colStart = s &* gemmNR
            let colCount = min(gemmNR, cols &- colStart)
            let bs = packedB + s &* gemmNR &* kc
            var r = 0
            while r < mcNow {
                gemmMicroKernel(kc: kc, a: packedA + r &* kc, b: bs,
                                c: g.c + ((i0 &+ r) &* g.ldc &+ j0 &+ colStart), ldc: g.ldc,
                                rows: min(gemmMR, mcNow &- r), cols: colCount, alpha: g.alpha, update: update)
                r &+= gemmMR
            }
        }
        i0 += mcNow
    }
}

/// Multi-threaded blocked GEMM: per (jc, pc) step the workers first pack the shared B panel
/// (disjoint slivers each), then compute C in tasks: the `tm x tn` thread grid over C's tiles
/// (rows in whole 6-row tiles, columns in whole 16-column slivers), each cell's rows cut into up
/// to four tasks, claimed dynamically so a preempted or slower worker does not hold the others at
/// the barrier. Cutting rows only keeps A packed once per column cell: each task packs its own
/// rows of A into its worker's buffer.
func gemmBlockedParallel(_ g: GemmOperands, threads: Int, blocking: GemmBlocking) {
    let rowTiles = (g.m + gemmMR - 1) / gemmMR
    let colTiles = (min(g.n, blocking.nc) + gemmNR - 1) / gemmNR
    let (cellRows, tn) = gemmThreadGrid(rowTiles: rowTiles, colTiles: colTiles, threads: threads)
    let tm = cellRows * max(1, min(4, rowTiles / cellRows))
    let tasks = tm * tn
    let workers = min(threads, cellRows * tn)
    if workers <= 1 {
        gemmBlockedRows(g, rows: 0..<g.m, blocking: blocking)
        return
    }
    let kcMax = min(blocking.kc, g.k)
    let ncMax = min(blocking.nc, colTiles * gemmNR)
    let mcMax = min(blocking.mc, (rowTiles + tm - 1) / tm * gemmMR)
    let aStride = kcMax * mcMax + gemmPackSlack
    GemmScratch.withBuffer(count: kcMax * ncMax + workers * aStride) { buffer in
        let shared = UncheckedSendable(buffer)
        gemmForEachPanel(g, blocking: blocking) { j0, nc, slivers, p0, kc in
            let packChunks = min(slivers, workers * 4)
            dynamicFor(packChunks, threads: workers) { t, _ in
                packB(g, p0: p0, kc: kc, j0: j0, cols: nc,
                      slivers: (slivers * t / packChunks)..<(slivers * (t + 1) / packChunks), into: shared.value)
            }
            dynamicFor(tasks, threads: workers) { t, worker in
                let ti = t / tn, tj = t % tn
                let rowLo = min(g.m, rowTiles * ti / tm * gemmMR), rowHi = min(g.m, rowTiles * (ti + 1) / tm * gemmMR)
                let sLo = slivers * tj / tn, sHi = slivers * (tj + 1) / tn
                if rowLo >= rowHi || sLo >= sHi { return }
                let packedA = shared.value + kcMax * ncMax + worker * aStride
                gemmComputePanel(g, rows: rowLo..<rowHi, j0: j0, cols: nc, slivers: sLo..<sHi, p0: p0, kc: kc,
                                 packedB: shared.value, packedA: packedA, mc: blocking.mc)
            }
        }
    }
}

/// Splits `threads` into a `tm x tn` grid over C's tiles, minimising the largest cell; splitting
/// rows is preferred (the packed B panel is shared, each thread packs only its own rows of A)
/// unless it leaves a cell more than 10% larger than the best split.
func gemmThreadGrid(rowTiles: Int, colTiles: Int, threads: Int) -> (Int, Int) {
    var best = (1, 1), bestCost = Int.max
    var candidates: [(Int, Int, Int)] = []
    for tm in 1...threads where threads % tm == 0 {
        let tn = threads / tm
        if tm > rowTiles || tn > colTiles { continue }
        let cost = ((rowTiles + tm - 1) / tm) * ((colTiles + tn - 1) / tn)
        candidates.append((tm, tn, cost))
        if cost < bestCost { bestCost = cost; best = (tm, tn) }
    }
    if candidates.isEmpty { return (min(threads, max(rowTiles, 1)), 1) }
    if let rowMajor = candidates.max(by: { $0.0 < $1.0 }), rowMajor.2 * 10 <= bestCost * 11 {
        return (rowMajor.0, rowMajor.1)
    }
    return best
}
