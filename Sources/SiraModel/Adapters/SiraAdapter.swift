import SiraIO
import SiraKernels
import Foundation

/// SiRA: a sparse mixture of E LoRA experts of rank r on one projection (DESIGN.md §5).
///
/// Per call over T tokens: router probabilities `p = softmax(Wg x)` (fp32); top-k experts per
/// token (ties to the lower index); gates = those probabilities, renormalised over the k when
/// `normalizeGates`; assignments granted in GShard order up to `C = ceil(cf·k·T/E)` per expert,
/// the rest dropped; in training each granted gate is zeroed with probability `expertDropout` and
/// survivors scaled by `1/(1-p)`; `y += Σ_granted gate · s · B_e A_e x`.
///
/// Compute is sparse: each expert runs its down-projection on its granted rows only, read in place
/// through the row-index tables of the grouped GEMM (no gathered copy), and the up-projection is
/// fused with the gated combine (`expertCombineAdd`: each token's row of y gets its experts'
/// outputs, no `[rows × out]` intermediate), so the cost follows k, not E (`rowsComputed` counts
/// the rows). Rows whose gate was zeroed by dropout are not computed (they contribute nothing, and
/// their gate gradient is zero).
///
/// Auxiliary losses: load balancing `E Σ_e f_e P_e` (f_e: fraction of tokens whose first choice is
/// e; P_e: mean probability of e) and z-loss `mean_t logsumexp(Wg x_t)²`, weighted by the config
/// and by `auxiliaryScale` (1 / number of SiRA layers, set by `AdapterSet`, so the model's total is
/// the mean over layers). Their gradients reach the router through p; the top-k choice and f_e are
/// not differentiated.
public final class SiraAdapter: ProjectionAdapter {
    public let inFeatures: Int
    public let outFeatures: Int
    public let rank: Int
    public let experts: Int
    public let topK: Int
    public let scaling: Float
    public let config: AdapterConfig
    /// `sira.router.weight` `[E, in]`.
    public let router: Parameter
    /// `sira.experts.{e}.lora_A.weight` `[r, in]`, Kaiming-uniform.
    public let expertA: [Parameter]
    /// `sira.experts.{e}.lora_B.weight` `[out, r]`, zeros.
    public let expertB: [Parameter]
    /// Multiplies both auxiliary losses; `AdapterSet` sets it to 1 / (number of SiRA layers).
    public var auxiliaryScale: Float = 1
    /// Per-layer constant mixed into the dropout seed so layers draw independent masks.
    public let dropoutSalt: UInt64

    public private(set) var auxiliaryLoss: Float = 0
    /// Routing summary of the last forward.
    public private(set) var lastStatistics: RouterStatistics
    /// Rows passed to the expert GEMMs in the last forward (Σ_e granted, non-dropped rows of e).
    public private(set) var rowsComputed = 0

    // State kept from forward for backward (all indexed by assignment id a = t·k + j).
    private var lastTokens = 0
    private var choices: [Int32] = []
    /// Gate after renormalisation (before capacity and dropout).
    private var gates: [Float] = []
    /// 0 when dropped by capacity or by dropout, else the dropout scale (1 or 1/(1-p)).
    private var keep: [Float] = []
    /// Rows computed, grouped by expert: `rowOffsets[e]..<rowOffsets[e+1]` index `rowAssignment`.
    private var rowOffsets: [Int] = []
    private var rowAssignment: [Int32] = []
    private var rowToken: [Int32] = []
    /// Per assignment `t·k + j`, its computed row, or -1 (dropped, or zeroed by dropout).
    private var slotRow: [Int32] = []
    /// `s · gate · keep` per computed row.
    private var rowWeight: [Float] = []
    /// First-choice fraction per expert (constant in backward).
    private var firstChoiceFraction: [Float] = []
    private let probs = Scratch(), logsumexp = Scratch(), hidden = Scratch(), routerGrad = Scratch()
    private let workspace: AdapterWorkspace

    public init(prefix: String, inFeatures: Int, outFeatures: Int, config: AdapterConfig, seed: UInt64,
                workspace: AdapterWorkspace = AdapterWorkspace()) {
        self.workspace = workspace
        precondition(config.topK >= 1 && config.topK <= config.numExperts, "top_k \(config.topK) with \(config.numExperts) experts")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.config = config
        rank = config.r
        experts = config.numExperts
        topK = config.topK
        scaling = config.scaling
        dropoutSalt = CounterHash.stableHash(prefix)
        var rng = Xoshiro256(seed: CounterHash.hash(seed, dropoutSalt))
        router = Parameter(name: AdapterNaming.router(prefix, .sira), value: Tensor(shape: [experts, inFeatures]), trainable: true)
        AdapterMath.kaimingUniform(router.value, fanIn: inFeatures, rng: &rng)
        expertA = (0..<config.numExperts).map { e in
            let p = Parameter(name: AdapterNaming.expertA(prefix, .sira, e), value: Tensor(shape: [config.r, inFeatures]), trainable: true)
            AdapterMath.kaimingUniform(p.value, fanIn: inFeatures, rng: &rng)
            return p
        }
        expertB = (0..<config.numExperts).map { e in
            Parameter(name: AdapterNaming.expertB(prefix, .sira, e), value: Tensor(shape: [outFeatures, config.r]), trainable: true)
        }
        lastStatistics = RouterStatistics(experts: config.numExperts)
    }

    public var parameters: [Parameter] { [router] + zip(expertA, expertB).flatMap { [$0, $1] } }

    /// The capacity per expert for a call of `tokens` tokens in `mode` (nil: unlimited).
    public func capacity(tokens: Int, mode: AdapterMode) -> Int? {
        switch mode {
        case .training: CapacityRouter.capacity(factor: config.capacityFactor, topK: topK, tokens: tokens, experts: experts)
        case .evaluation: CapacityRouter.capacity(factor: config.evalCapacityFactor, topK: topK, tokens: tokens, experts: experts)
        }
    }

    /// The last forward's routing, for tests and diagnostics: per assignment `t·k + j` the expert,
    /// the (renormalised) gate, and the multiplier applied to it (0 = dropped by capacity or dropout).
    public var lastRouting: (choices: [Int32], gates: [Float], keep: [Float]) { (choices, gates, keep) }

    public func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, tokens: Int, mode: AdapterMode) {
        let T = tokens, E = experts, k = topK
        lastTokens = T
        // 1. Router probabilities.
        let p = probs.reserve(T * E), lse = logsumexp.reserve(T)
        sgemm(.noTranspose, .transpose, m: T, n: E, k: inFeatures, alpha: 1,
                         a: x, lda: inFeatures, b: router.value.pointer, ldb: inFeatures, beta: 0, c: p, ldc: E)
        var stats = RouterStatistics(experts: E)
        var zSum: Double = 0
        for t in 0..<T {
            lse[t] = RouterMath.softmaxInPlace(p + t * E, count: E)
            zSum += Double(lse[t]) * Double(lse[t])
            var h: Double = 0
            for e in 0..<E where p[t * E + e] > 0 { h -= Double(p[t * E + e]) * Double(logf(p[t * E + e])) }
            stats.entropySum += h
        }
        // 2. Top-k and gates.
        choices = CapacityRouter.topK(p, tokens: T, experts: E, k: k)
        gates = [Float](repeating: 0, count: T * k)
        for t in 0..<T {
            var sum: Float = 0
            for j in 0..<k { let g = p[t * E + Int(choices[t * k + j])]; gates[t * k + j] = g; sum += g }
            if config.normalizeGates { for j in 0..<k { gates[t * k + j] /= sum } }
        }
        // 3. Capacity in GShard order.
        let plan = CapacityRouter.assign(choices: choices, tokens: T, k: k, experts: E, capacity: capacity(tokens: T, mode: mode))
        // 4. Expert dropout on granted assignments.
        keep = plan.granted.map { $0 ? 1 : 0 }
        if case let .training(seed) = mode, config.expertDropout > 0 {
            let pDrop = Float(config.expertDropout), survive = 1 / (1 - Float(config.expertDropout))
            let key = CounterHash.hash(seed, dropoutSalt)
            for a in 0..<(T * k) where plan.granted[a] {
                keep[a] = CounterHash.unitFloat(key, UInt64(a)) < pDrop ? 0 : survive
            }
        }
        // Rows to compute: granted and not dropped out, grouped by expert in grant order.
        rowOffsets = [0]
        rowAssignment.removeAll(keepingCapacity: true)
        rowToken.removeAll(keepingCapacity: true)
        rowWeight.removeAll(keepingCapacity: true)
        slotRow = [Int32](repeating: -1, count: T * k)
        for e in 0..<E {
            for i in plan.offsets[e]..<plan.offsets[e + 1] {
                let a = Int(plan.ids[i])
                if keep[a] == 0 { continue }
                slotRow[a] = Int32(rowAssignment.count)
                rowAssignment.append(Int32(a))
                rowToken.append(Int32(a / k))
                rowWeight.append(scaling * gates[a] * keep[a])
            }
            rowOffsets.append(rowAssignment.count)
        }
        // 5. Sparse expert compute: h_e = x[rows_e] A_eᵀ read in place, then the gated combine
        //    y[t] += Σ_j w · h B_eᵀ fused with the up-projection.
        let rows = rowAssignment.count
        let h = hidden.reserve(rows * rank)
        rowToken.withUnsafeBufferPointer { tok in
            let down = expertProblems { e, start, n in
                .init(m: n, n: rank, k: inFeatures, a: x, lda: inFeatures,
                      b: expertA[e].value.pointer, ldb: inFeatures, c: h + start * rank, ldc: rank,
                      aRows: tok.baseAddress! + start)
            }
            rowsComputed = down.reduce(0) { $0 + $1.m }
            sgemmGrouped(.noTranspose, .transpose, problems: down, alpha: 1, beta: 0)
        }
        if T > 0 { slotRow.withUnsafeBufferPointer { slots in
            choices.withUnsafeBufferPointer { experts in
                rowWeight.withUnsafeBufferPointer { w in
                    expertCombineAdd(tokens: T, slots: k, slotRows: slots.baseAddress!, slotExperts: experts.baseAddress!,
                                     h: h, ldh: rank, rank: rank, rowScale: w.baseAddress,
                                     .transpose, weights: expertB.map { UnsafePointer($0.value.pointer) }, ldw: rank,
                                     n: outFeatures, y: y, ldy: outFeatures)
                }
            }
        } }
        // 6. Auxiliary losses and statistics.
        firstChoiceFraction = [Float](repeating: 0, count: E)
        var meanProb = [Double](repeating: 0, count: E)
        for t in 0..<T {
            firstChoiceFraction[Int(choices[t * k])] += 1
            for e in 0..<E { meanProb[e] += Double(p[t * E + e]) }
        }
        var balance: Double = 0
        for e in 0..<E {
            firstChoiceFraction[e] /= Float(T)
            balance += Double(firstChoiceFraction[e]) * meanProb[e] / Double(T)
        }
        balance *= Double(E)
        let zLoss = T > 0 ? zSum / Double(T) : 0
        auxiliaryLoss = auxiliaryScale * Float(config.auxLossWeight * balance + config.zLossWeight * zLoss)
        stats.calls = 1
        stats.tokens = T
        stats.assignments = T * k
        for a in 0..<(T * k) {
            let e = Int(choices[a])
            stats.routed[e] += 1
            if plan.granted[a] { stats.granted[e] += 1 } else { stats.dropped += 1 }
        }
        stats.balanceLossSum = balance
        stats.zLossSum = zLoss
        lastStatistics = stats
    }

    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, tokens: Int) {
        precondition(tokens == lastTokens, "SiRA backward for \(tokens) tokens after a forward of \(lastTokens)")
        let T = tokens, E = experts, k = topK
        let h = hidden.pointer, p = probs.pointer, lse = logsumexp.pointer
        // Gradient w.r.t. each assignment's gate, from the rows that were computed.
        var dGate = [Float](repeating: 0, count: T * k)
        let rows = rowAssignment.count
        let g = workspace.hiddenGradient.reserve(rows * rank), hw = workspace.weightedHidden.reserve(rows * rank)
        // The token rows of dy and x each expert needs are read in place through the row tables.
        // G = dy_e B_e  [rows, r]
        rowToken.withUnsafeBufferPointer { tok in
            sgemmGrouped(.noTranspose, .noTranspose, problems: expertProblems { e, start, n in
                .init(m: n, n: rank, k: outFeatures, a: dy, lda: outFeatures,
                      b: expertB[e].value.pointer, ldb: rank, c: g + start * rank, ldc: rank, aRows: tok.baseAddress! + start)
            }, alpha: 1, beta: 0)
        }
        // dgate = s · keep · <G, h>; then hw = w h and dh = w G (w = s · gate · keep).
        for i in 0..<rows {
            let w = rowWeight[i], a = Int(rowAssignment[i])
            let gi = g + i * rank, hi = h + i * rank, hwi = hw + i * rank
            var dot: Float = 0
            for j in 0..<rank {
                dot += gi[j] * hi[j]
                hwi[j] = w * hi[j]
                gi[j] *= w
            }
            dGate[a] = scaling * dot * keep[a]
        }
        rowToken.withUnsafeBufferPointer { tok in
            // dB_e += dy_eᵀ (w h)
            sgemmGrouped(.transpose, .noTranspose, problems: expertProblems { e, start, n in
                guard let grad = expertB[e].grad else { return nil }
                return .init(m: outFeatures, n: rank, k: n, a: dy, lda: outFeatures,
                             b: hw + start * rank, ldb: rank, c: grad.pointer, ldc: rank, aRows: tok.baseAddress! + start)
            }, alpha: 1, beta: 1)
            // dA_e += dhᵀ x_e
            sgemmGrouped(.transpose, .noTranspose, problems: expertProblems { e, start, n in
                guard let grad = expertA[e].grad else { return nil }
                return .init(m: rank, n: inFeatures, k: n, a: g + start * rank, lda: rank,
                             b: x, ldb: inFeatures, c: grad.pointer, ldc: inFeatures, bRows: tok.baseAddress! + start)
            }, alpha: 1, beta: 1)
        }
        // dx[t] += Σ_j dh A_e, the combine fused with the expert GEMM.
        if T > 0 { slotRow.withUnsafeBufferPointer { slots in
            choices.withUnsafeBufferPointer { experts in
                expertCombineAdd(tokens: T, slots: k, slotRows: slots.baseAddress!, slotExperts: experts.baseAddress!,
                                 h: g, ldh: rank, rank: rank, rowScale: nil,
                                 .noTranspose, weights: expertA.map { UnsafePointer($0.value.pointer) }, ldw: inFeatures,
                                 n: inFeatures, y: dx, ldy: inFeatures)
            }
        } }
        // Router: gate gradients through renormalisation, plus the auxiliary losses, then softmax.
        let dz = routerGrad.reserve(T * E)
        dz.update(repeating: 0, count: T * E)
        let balanceCoef = auxiliaryScale * Float(config.auxLossWeight) * Float(E) / Float(T)
        let zCoef = auxiliaryScale * Float(config.zLossWeight) * 2 / Float(T)
        for t in 0..<T {
            let dp = dz + t * E, pt = p + t * E
            if config.normalizeGates {
                var sumP: Float = 0, dot: Float = 0
                for j in 0..<k { sumP += pt[Int(choices[t * k + j])]; dot += dGate[t * k + j] * gates[t * k + j] }
                for j in 0..<k { dp[Int(choices[t * k + j])] += (dGate[t * k + j] - dot) / sumP }
            } else {
                for j in 0..<k { dp[Int(choices[t * k + j])] += dGate[t * k + j] }
            }
            if balanceCoef != 0 { for e in 0..<E { dp[e] += balanceCoef * firstChoiceFraction[e] } }
            var pdot: Float = 0
            for e in 0..<E { pdot += pt[e] * dp[e] }
            let zTerm = zCoef * lse[t]
            for e in 0..<E { dp[e] = pt[e] * (dp[e] - pdot + zTerm) }
        }
        if let gr = router.grad {
            sgemm(.transpose, .noTranspose, m: E, n: inFeatures, k: T, alpha: 1, a: dz, lda: E, b: x, ldb: inFeatures,
                             beta: 1, c: gr.pointer, ldc: inFeatures)
        }
        sgemm(.noTranspose, .noTranspose, m: T, n: inFeatures, k: E, alpha: 1, a: dz, lda: E, b: router.value.pointer,
                         ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
    }

    /// One GEMM per expert with computed rows: `make(e, firstRow, rowCount)`; nil skips the expert.
    private func expertProblems(_ make: (Int, Int, Int) -> SgemmProblem?) -> [SgemmProblem] {
        (0..<experts).compactMap { e in
            let start = rowOffsets[e], n = rowOffsets[e + 1] - start
            return n > 0 ? make(e, start, n) : nil
        }
    }
}
