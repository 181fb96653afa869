import SiraIO
import SiraKernels
import Foundation

/// SiRA: a sparse mixture of E LoRA experts of rank r on one projection (DESIGN.md §5).
///
/// One call over T tokens is four steps, each with its backward beside it in its own file:
/// 1. `route` (SiraAdapter+Route.swift): router probabilities `p = softmax(Wg x)` (fp32), top-k
///    experts per token (ties to the lower index), gates = those probabilities, renormalised over
///    the k when `normalizeGates`.
/// 2. `assign` (SiraAdapter+Assign.swift): assignments granted in GShard order up to
///    `C = ceil(cf·k·T/E)` per expert, the rest dropped; in training each granted gate is zeroed
///    with probability `expertDropout` and survivors scaled by `1/(1-p)`. The result is one
///    `RoutingPlan` (SiraKernels).
/// 3. `experts` (SiraAdapter+Experts.swift): `y += Σ_granted gate · s · B_e A_e x`, sparse: each
///    expert runs its down-projection on its computed rows only, read in place through the row
///    tables of the grouped GEMM, and the up-projection is fused with the gated combine
///    (`expertCombineAdd`), so the cost follows k, not E (`rowsComputed` counts the rows). Rows
///    whose gate was zeroed by dropout are not computed (they contribute nothing, and their gate
///    gradient is zero).
/// 4. `auxLoss` (SiraAdapter+AuxLoss.swift): load balancing `E Σ_e f_e P_e` (f_e: fraction of
///    tokens whose first choice is e; P_e: mean probability of e) and z-loss
///    `mean_t logsumexp(Wg x_t)²`, weighted by the config and by `auxiliaryScale` (1 / number of
///    SiRA layers, set by `AdapterSet`, so the model's total is the mean over layers). Their
///    gradients reach the router through p; the top-k choice and f_e are not differentiated.
///
/// Backward runs the steps in reverse: `expertsBackward` gives the gate gradients, `routeBackward`
/// takes them (plus `auxLossBackward`'s terms) through the renormalisation and the softmax.
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

    public internal(set) var auxiliaryLoss: Float = 0
    /// Routing summary of the last forward.
    public internal(set) var lastStatistics: RouterStatistics
    /// Rows passed to the expert GEMMs in the last forward (Σ_e granted, non-dropped rows of e).
    public internal(set) var rowsComputed = 0

    // Kept from forward for backward.
    var lastTokens = 0
    /// The last forward's routing (choices, gates, capacity, dropout, row tables).
    var plan: RoutingPlan
    /// `[rows]` `s · gate · keep` per computed row.
    var rowWeight: [Float] = []
    /// `[E]` first-choice fraction per expert (constant in backward).
    var firstChoiceFraction: [Float] = []
    /// `probs` `[T, E]` router softmax; `logsumexp` `[T]`; `hidden` `[rows, r]` the experts' `x A_eᵀ`;
    /// `routerGrad` `[T, E]` the gradient at the router logits.
    let probs = Scratch(), logsumexp = Scratch(), hidden = Scratch(), routerGrad = Scratch()
    let workspace: AdapterWorkspace

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
        plan = RoutingPlan(experts: config.numExperts, k: config.topK)
    }

    public var parameters: [Parameter] { [router] + zip(expertA, expertB).flatMap { [$0, $1] } }

    /// The last forward's routing, for tests and diagnostics: per assignment `t·k + j` the expert,
    /// the (renormalised) gate, and the multiplier applied to it (0 = dropped by capacity or dropout).
    public var lastRouting: (choices: [Int32], gates: [Float], keep: [Float]) { (plan.choices, plan.gates, plan.keep) }

    /// x `[T, in]` → y `[T, out]` (accumulated).
    public func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, tokens: Int, mode: AdapterMode) {
        lastTokens = tokens
        var stats = RouterStatistics(experts: experts)
        let routed = route(x: x, tokens: tokens, statistics: &stats)
        plan = assign(choices: routed.choices, gates: routed.gates, tokens: tokens, mode: mode)
        self.experts(x: x, y: y, tokens: tokens)
        auxLoss(tokens: tokens, zSum: routed.zSum, statistics: &stats)
        lastStatistics = stats
    }

    /// dy `[T, out]` → dx `[T, in]` (accumulated), parameter gradients accumulated.
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, tokens: Int) {
        precondition(tokens == lastTokens, "SiRA backward for \(tokens) tokens after a forward of \(lastTokens)")
        let dGate = expertsBackward(x: x, dy: dy, dx: dx, tokens: tokens)
        routeBackward(x: x, dGate: dGate, dx: dx, tokens: tokens)
    }
}
