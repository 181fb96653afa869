import Foundation

extension LlamaConfig {
    /// RoPE angle steps in HF's rotate-half form: `invFreq[i] = rope_theta^(−2i/head_dim)` for
    /// `i < head_dim/2`, adjusted by `rope_scaling` (`linear`: divided by the factor; `llama3`:
    /// low frequencies divided, high kept, a smooth blend between). The rotation itself is
    /// SiraKernels' `ropeForward`/`ropeBackward` over a `RotaryTable` of these.
    var ropeInverseFrequencies: [Double] {
        let hd = headDim, half = hd / 2
        var inv = (0..<half).map { 1 / pow(ropeTheta, Double(2 * $0) / Double(hd)) }
        if let s = ropeScaling {
            switch s.ropeType {
            case "linear":
                inv = inv.map { $0 / s.factor }
            case "llama3":
                let original = Double(s.originalMaxPositionEmbeddings ?? 8192)
                let low = s.lowFreqFactor ?? 1, high = s.highFreqFactor ?? 4
                let lowWavelen = original / low, highWavelen = original / high
                inv = inv.map { f in
                    let wavelen = 2 * Double.pi / f
                    if wavelen < highWavelen { return f }
                    if wavelen > lowWavelen { return f / s.factor }
                    let smooth = (original / wavelen - low) / (high - low)
                    return (1 - smooth) * f / s.factor + smooth * f
                }
            default:
                break
            }
        }
        return inv
    }
}
