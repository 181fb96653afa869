import SiraIO
import SiraKernels
import Foundation

/// Dense soft mixture of LoRA experts (the baseline SiRA is compared with):
/// `y = W0 x + Σ_e softmax(Wg x)_e · s · B_e A_e x`, `s = alpha / r`.
///
/// Every expert runs on every token, so its cost grows with E. The experts' A matrices are packed
/// into one `[E·r, in]` block (and the B matrices into `[out, E·r]`) for each call, so the whole
/// layer is four GEMMs plus the router.
public final class MoLoRAAdapter: ProjectionAdapter {
    public let inFeatures: Int
    public let outFeatures: Int
    public let rank: Int
    public let experts: Int
    public let scaling: Float
    /// `molora.router.weight` `[E, in]`.
    public let router: Parameter
    /// `molora.experts.{e}.lora_A.weight` `[r, in]`, Kaiming-uniform.
    public let expertA: [Parameter]
    /// `molora.experts.{e}.lora_B.weight` `[out, r]`, zeros.
    public let expertB: [Parameter]

    private let hidden = Scratch(), probs = Scratch()
    private let workspace: AdapterWorkspace
    private var packedA: Scratch { workspace.packedExpertsA }
    private var packedB: Scratch { workspace.packedExpertsB }
    private var lastTokens = 0

    public init(prefix: String, inFeatures: Int, outFeatures: Int, rank: Int, alpha: Double, experts: Int, seed: UInt64,
                workspace: AdapterWorkspace = AdapterWorkspace()) {
        self.workspace = workspace
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.rank = rank
        self.experts = experts
        scaling = Float(alpha / Double(rank))
        var rng = Xoshiro256(seed: CounterHash.hash(seed, CounterHash.stableHash(prefix)))
        router = Parameter(name: AdapterNaming.router(prefix, .molora), value: Tensor(shape: [experts, inFeatures]), trainable: true)
        AdapterMath.kaimingUniform(router.value, fanIn: inFeatures, rng: &rng)
        expertA = (0..<experts).map { e in
            let p = Parameter(name: AdapterNaming.expertA(prefix, .molora, e), value: Tensor(shape: [rank, inFeatures]), trainable: true)
            AdapterMath.kaimingUniform(p.value, fanIn: inFeatures, rng: &rng)
            return p
        }
        expertB = (0..<experts).map { e in
            Parameter(name: AdapterNaming.expertB(prefix, .molora, e), value: Tensor(shape: [outFeatures, rank]), trainable: true)
        }
    }

    public var parameters: [Parameter] { [router] + zip(expertA, expertB).flatMap { [$0, $1] } }
    public var auxiliaryLoss: Float { 0 }

    /// Copies the experts' weights into `[E·r, in]` (A) and `[out, E·r]` (B).
    private func pack() {
        let er = experts * rank
        let pa = packedA.reserve(er * inFeatures), pb = packedB.reserve(outFeatures * er)
        for e in 0..<experts {
            (pa + e * rank * inFeatures).update(from: expertA[e].value.pointer, count: rank * inFeatures)
            let be = expertB[e].value.pointer
            for o in 0..<outFeatures { (pb + o * er + e * rank).update(from: be + o * rank, count: rank) }
        }
    }

    public func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, tokens: Int, mode: AdapterMode) {
        lastTokens = tokens
        let er = experts * rank
        pack()
        let p = probs.reserve(tokens * experts)
        sgemm(.noTranspose, .transpose, m: tokens, n: experts, k: inFeatures, alpha: 1,
                         a: x, lda: inFeatures, b: router.value.pointer, ldb: inFeatures, beta: 0, c: p, ldc: experts)
        for t in 0..<tokens { RouterMath.softmaxInPlace(p + t * experts, count: experts) }
        let h = hidden.reserve(tokens * er)
        sgemm(.noTranspose, .transpose, m: tokens, n: er, k: inFeatures, alpha: 1,
                         a: x, lda: inFeatures, b: packedA.pointer, ldb: inFeatures, beta: 0, c: h, ldc: er)
        let hs = workspace.hiddenGradient.reserve(tokens * er)
        for t in 0..<tokens {
            for e in 0..<experts {
                let g = p[t * experts + e]
                let src = h + t * er + e * rank, dst = hs + t * er + e * rank
                for j in 0..<rank { dst[j] = g * src[j] }
            }
        }
        sgemm(.noTranspose, .transpose, m: tokens, n: outFeatures, k: er, alpha: scaling,
                         a: hs, lda: er, b: packedB.pointer, ldb: er, beta: 1, c: y, ldc: outFeatures)
    }

    /// With `G = dy B` (`[T, E·r]`): `dp_e = s Σ_j G_ej h_ej`, `dB += s dyᵀ (p⊙h)`, `dh = s p⊙G`,
    /// `dA += dhᵀ x`, `dx += dh A + dz Wg` with `dz` the softmax backward of `dp`.
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, tokens: Int) {
        precondition(tokens == lastTokens, "MoLoRA backward for \(tokens) tokens after a forward of \(lastTokens)")
        let er = experts * rank
        pack()
        let p = probs.pointer, h = hidden.pointer
        let g = workspace.hiddenGradient.reserve(max(tokens * er, experts * tokens))
        // dB (packed) = s dyᵀ (p⊙h): recompute p⊙h into weightedHidden first.
        let hs = workspace.weightedHidden.reserve(max(tokens * er, tokens * experts))
        for t in 0..<tokens {
            for e in 0..<experts {
                let w = p[t * experts + e]
                for j in 0..<rank { hs[t * er + e * rank + j] = w * h[t * er + e * rank + j] }
            }
        }
        for e in 0..<experts {
            guard let gb = expertB[e].grad else { continue }
            sgemm(.transpose, .noTranspose, m: outFeatures, n: rank, k: tokens, alpha: scaling,
                             a: dy, lda: outFeatures, b: hs + e * rank, ldb: er, beta: 1, c: gb.pointer, ldc: rank)
        }
        sgemm(.noTranspose, .noTranspose, m: tokens, n: er, k: outFeatures, alpha: 1,
                         a: dy, lda: outFeatures, b: packedB.pointer, ldb: er, beta: 0, c: g, ldc: er)
        // Router: dp, then softmax backward into dz (stored over hs, which is no longer needed).
        let dz = hs
        for t in 0..<tokens {
            var dot: Float = 0
            for e in 0..<experts {
                var s: Float = 0
                for j in 0..<rank { s += g[t * er + e * rank + j] * h[t * er + e * rank + j] }
                dz[t * experts + e] = scaling * s
                dot += p[t * experts + e] * scaling * s
            }
            for e in 0..<experts { dz[t * experts + e] = p[t * experts + e] * (dz[t * experts + e] - dot) }
        }
        if let gr = router.grad {
            sgemm(.transpose, .noTranspose, m: experts, n: inFeatures, k: tokens, alpha: 1,
                             a: dz, lda: experts, b: x, ldb: inFeatures, beta: 1, c: gr.pointer, ldc: inFeatures)
        }
        sgemm(.noTranspose, .noTranspose, m: tokens, n: inFeatures, k: experts, alpha: 1,
                         a: dz, lda: experts, b: router.value.pointer, ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
        // dh = s p⊙G in place.
        for t in 0..<tokens {
            for e in 0..<experts {
                let w = scaling * p[t * experts + e]
                for j in 0..<rank { g[t * er + e * rank + j] *= w }
            }
        }
        for e in 0..<experts {
            guard let ga = expertA[e].grad else { continue }
            sgemm(.transpose, .noTranspose, m: rank, n: inFeatures, k: tokens, alpha: 1,
                             a: g + e * rank, lda: er, b: x, ldb: inFeatures, beta: 1, c: ga.pointer, ldc: inFeatures)
        }
        sgemm(.noTranspose, .noTranspose, m: tokens, n: inFeatures, k: er, alpha: 1,
                         a: g, lda: er, b: packedA.pointer, ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
    }
}
