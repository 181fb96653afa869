import SiraPipeline
import SiraKernels
import SiraModel

/// Folds plain LoRA adapters into the base weights: `W ← W + (alpha/r) B A` for every adapted
/// projection (`W` `[out, in]`, `B` `[out, r]`, `A` `[r, in]`), then detaches them. The merged
/// model computes `(W + s B A) x`, which equals the adapted `W x + s B (A x)` up to fp32 rounding
/// order, and runs at the base model's cost with no adapter code at serving time.
///
/// Mixtures cannot be folded: MoLoRA's and SiRA's experts are weighted per token by a router, so
/// no single matrix reproduces them.
public enum LoRAMerge {
    /// Merges every adapter attached to `model`. Throws, changing nothing, when an attached adapter
    /// is not a plain LoRA.
    public static func fold(_ model: LlamaModel) throws {
        var pairs: [(Projection, LoRAAdapter)] = []
        for attached in model.adapters {
            guard let lora = attached.adapter as? LoRAAdapter else {
                throw PackageUseError("layer \(attached.layer) \(attached.module): only a plain LoRA folds into the weights; this adapter is \(type(of: attached.adapter)) (its experts are weighted per token)")
            }
            let projection = model.layers[attached.layer].projection(attached.module)!
            pairs.append((projection, lora))
        }
        for (projection, lora) in pairs {
            let w = projection.weight.value
            precondition(w.shape == [lora.outFeatures, lora.inFeatures], "LoRA shape does not match its projection")
            // W[out, in] += s · B[out, r] · A[r, in]
            sgemm(.noTranspose, .noTranspose, m: lora.outFeatures, n: lora.inFeatures, k: lora.rank,
                  alpha: lora.scaling, a: lora.b.value.pointer, lda: lora.rank, b: lora.a.value.pointer, ldb: lora.inFeatures,
                  beta: 1, c: w.pointer, ldc: lora.inFeatures, threads: model.threads)
        }
        model.detachAdapters()
    }
}
