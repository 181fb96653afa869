import SiraKernels

/// SiRA's expert GEMMs as the adapter runs them, each next to one dense GEMM of the same FLOPs on
/// rows that are already contiguous (the cost had the tokens needed no routing at all):
/// T = 4096 tokens of width 576, E = 16 experts of rank 8, top-2 (8192 expert rows); per expert,
/// its tokens in ascending order, read in place through row tables; the combine fused with the
/// up-projection (`expertCombineAdd`).
final class SiraOpsBench {
    static let tokens = 4096, dim = 576, rank = 8, experts = 16, topK = 2

    /// Per assignment `t·k + j`: expert and row (rows grouped by expert, tokens ascending).
    let slotExpert: [Int32], slotRow: [Int32]
    /// Expert rows: token of each row, first row of each expert.
    let rowToken: [Int32], offsets: [Int]
    let x: BenchMatrix, dy: BenchMatrix, y: BenchMatrix, gathered: BenchMatrix, h: BenchMatrix
    let a: [BenchMatrix], b: [BenchMatrix], grads: BenchMatrix

    init() {
        let t = Self.tokens, k = Self.topK, e = Self.experts
        // Uneven routing: first choice Zipf-like over a shuffled expert order, second another expert.
        var state: UInt64 = 0xC0FFEE
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let weights = (0..<e).map { 1 / Double($0 + 1) }, total = weights.reduce(0, +)
        var expert = [Int32](repeating: 0, count: t * k)
        for token in 0..<t {
            var u = Double(next() % 1_000_000) / 1_000_000 * total, first = 0
            while first < e - 1 && u >= weights[first] { u -= weights[first]; first += 1 }
            expert[token * k] = Int32(first)
            expert[token * k + 1] = Int32((first + 1 + Int(next() % UInt64(e - 1))) % e)
        }
        var rows = [Int32](repeating: -1, count: t * k), tokenOfRow: [Int32] = [], starts = [0]
        for ex in 0..<e {
            for token in 0..<t {
                for j in 0..<k where expert[token * k + j] == Int32(ex) {
                    rows[token * k + j] = Int32(tokenOfRow.count)
                    tokenOfRow.append(Int32(token))
                }
            }
            starts.append(tokenOfRow.count)
        }
        slotExpert = expert; slotRow = rows; rowToken = tokenOfRow; offsets = starts
        let r = tokenOfRow.count
        x = BenchMatrix(count: t * Self.dim); dy = BenchMatrix(count: t * Self.dim); y = BenchMatrix(count: t * Self.dim)
        gathered = BenchMatrix(count: r * Self.dim); h = BenchMatrix(count: r * Self.rank)
        a = (0..<e).map { _ in BenchMatrix(count: Self.rank * Self.dim) }
        b = (0..<e).map { _ in BenchMatrix(count: Self.dim * Self.rank) }
        grads = BenchMatrix(count: e * Self.rank * Self.dim)
    }

    deinit {
        for m in [x, dy, y, gathered, h, grads] + a + b { m.free() }
    }

    var rows: Int { rowToken.count }

    /// `(name, flops, ours, dense)` for each op.
    func cases(threads: Int) -> [(String, Double, () -> Void, () -> Void)] {
        let d = Self.dim, r = Self.rank, e = Self.experts, rows = self.rows
        let flops = 2 * Double(rows) * Double(d) * Double(r)
        let tok = UnsafeMutablePointer<Int32>.allocate(capacity: rows)
        tok.update(from: rowToken, count: rows)
        func problems(_ make: (Int, Int, Int) -> SgemmProblem) -> [SgemmProblem] {
            (0..<e).compactMap { ex in
                let start = offsets[ex], n = offsets[ex + 1] - start
                return n > 0 ? make(ex, start, n) : nil
            }
        }
        let down = problems { ex, s, n in
            SgemmProblem(m: n, n: r, k: d, a: self.x.pointer, lda: d, b: self.a[ex].pointer, ldb: d,
                         c: self.h.pointer + s * r, ldc: r, aRows: tok + s)
        }
        let dh = problems { ex, s, n in
            SgemmProblem(m: n, n: r, k: d, a: self.dy.pointer, lda: d, b: self.b[ex].pointer, ldb: r,
                         c: self.h.pointer + s * r, ldc: r, aRows: tok + s)
        }
        let dB = problems { ex, s, n in
            SgemmProblem(m: d, n: r, k: n, a: self.dy.pointer, lda: d, b: self.h.pointer + s * r, ldb: r,
                         c: self.grads.pointer + ex * d * r, ldc: r, aRows: tok + s)
        }
        let dA = problems { ex, s, n in
            SgemmProblem(m: r, n: d, k: n, a: self.h.pointer + s * r, lda: r, b: self.x.pointer, ldb: d,
                         c: self.grads.pointer + ex * d * r, ldc: d, bRows: tok + s)
        }
        let aPointers = a.map { UnsafePointer($0.pointer) }, bPointers = b.map { UnsafePointer($0.pointer) }
        return [
            ("sira down x[rows]·Aᵀ", flops, {
                sgemmGrouped(.noTranspose, .transpose, problems: down, alpha: 1, beta: 0, threads: threads)
            }, {
                sgemm(.noTranspose, .transpose, m: rows, n: r, k: d, alpha: 1, a: self.gathered.pointer, lda: d,
                      b: self.a[0].pointer, ldb: d, beta: 0, c: self.h.pointer, ldc: r, threads: threads)
            }),
            ("sira up+combine", flops, {
                expertCombineAdd(tokens: Self.tokens, slots: Self.topK, slotRows: self.slotRow, slotExperts: self.slotExpert,
                                 h: self.h.pointer, ldh: r, rank: r, rowScale: nil, .transpose, weights: bPointers, ldw: r,
                                 n: d, y: self.y.pointer, ldy: d, threads: threads)
            }, {
                sgemm(.noTranspose, .transpose, m: rows, n: d, k: r, alpha: 1, a: self.h.pointer, lda: r,
                      b: self.b[0].pointer, ldb: r, beta: 0, c: self.gathered.pointer, ldc: d, threads: threads)
            }),
            ("sira dh=dy[rows]·B", flops, {
                sgemmGrouped(.noTranspose, .noTranspose, problems: dh, alpha: 1, beta: 0, threads: threads)
            }, {
                sgemm(.noTranspose, .noTranspose, m: rows, n: r, k: d, alpha: 1, a: self.gathered.pointer, lda: d,
                      b: self.b[0].pointer, ldb: r, beta: 0, c: self.h.pointer, ldc: r, threads: threads)
            }),
            ("sira dB=dy[rows]ᵀ·h", flops, {
                sgemmGrouped(.transpose, .noTranspose, problems: dB, alpha: 1, beta: 1, threads: threads)
            }, {
                sgemm(.transpose, .noTranspose, m: d, n: r, k: rows, alpha: 1, a: self.gathered.pointer, lda: d,
                      b: self.h.pointer, ldb: r, beta: 1, c: self.grads.pointer, ldc: r, threads: threads)
            }),
            ("sira dA=dhᵀ·x[rows]", flops, {
                sgemmGrouped(.transpose, .noTranspose, problems: dA, alpha: 1, beta: 1, threads: threads)
            }, {
                sgemm(.transpose, .noTranspose, m: r, n: d, k: rows, alpha: 1, a: self.h.pointer, lda: r,
                      b: self.gathered.pointer, ldb: d, beta: 1, c: self.grads.pointer, ldc: d, threads: threads)
            }),
            ("sira dx combine", flops, {
                expertCombineAdd(tokens: Self.tokens, slots: Self.topK, slotRows: self.slotRow, slotExperts: self.slotExpert,
                                 h: self.h.pointer, ldh: r, rank: r, rowScale: nil, .noTranspose, weights: aPointers, ldw: d,
                                 n: d, y: self.y.pointer, ldy: d, threads: threads)
            }, {
                sgemm(.noTranspose, .noTranspose, m: rows, n: d, k: r, alpha: 1, a: self.h.pointer, lda: r,
                      b: self.a[0].pointer, ldb: d, beta: 0, c: self.gathered.pointer, ldc: d, threads: threads)
            }),
        ]
    }
}
