import Foundation

/// Rotary position embeddings in HF's rotate-half form: for each head vector of width `hd`
/// (`half = hd/2`), `out[i] = x[i]·cos − x[i+half]·sin` and `out[i+half] = x[i+half]·cos + x[i]·sin`
/// with angle `pos · invFreq[i]`, `invFreq[i] = rope_theta^(−2i/hd)` (adjusted by `rope_scaling`).
///
/// Angles are computed in Double and rounded once, so long positions stay accurate. The cos/sin
/// table grows on demand (a Llama-3 context of 128k positions is never allocated up front).
final class LlamaRotary: @unchecked Sendable {
    let half: Int
    let invFreq: [Double]
    private(set) var positions = 0
    private(set) var cosTable: [Float] = []
    private(set) var sinTable: [Float] = []

    init(config: LlamaConfig) {
        let hd = config.headDim
        half = hd / 2
        var inv = (0..<half).map { 1 / pow(config.ropeTheta, Double(2 * $0) / Double(hd)) }
        if let s = config.ropeScaling {
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
        invFreq = inv
        reserve(min(config.maxPositionEmbeddings, 4096))
    }

    /// Makes positions `0..<count` available.
    func reserve(_ count: Int) {
        guard count > positions else { return }
        let newCount = max(count, positions * 2)
        cosTable.reserveCapacity(newCount * half)
        sinTable.reserveCapacity(newCount * half)
        for p in positions..<newCount {
            for i in 0..<half {
                let angle = Double(p) * invFreq[i]
                cosTable.append(Float(cos(angle)))
                sinTable.append(Float(sin(angle)))
            }
        }
        positions = newCount
    }

    /// Rotates `rows` rows of `heads` head vectors (row stride `heads·hd`) in place. Row `r` is at
    /// position `start + r % period` (`period` = sequence length for a batch of sequences; pass
    /// `Int.max` for one run of consecutive positions). `inverse` applies the transpose rotation,
    /// which is the backward pass (the rotation is orthogonal).
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, start: Int, period: Int, inverse: Bool) {
        let hd = 2 * half
        let maxPosition = start + min(rows, period)
        reserve(maxPosition)
        cosTable.withUnsafeBufferPointer { cosBuf in
            sinTable.withUnsafeBufferPointer { sinBuf in
                let sign: Float = inverse ? -1 : 1
                for r in 0..<rows {
                    let pos = start + (period == .max ? r : r % period)
                    let c = cosBuf.baseAddress! + pos &* half
                    let s = sinBuf.baseAddress! + pos &* half
                    let row = x + r &* heads &* hd
                    for h in 0..<heads {
                        let v = row + h &* hd
                        for i in 0..<half {
                            let a = v[i], b = v[i &+ half]
                            let sn = sign * s[i]
                            v[i] = a * c[i] - b * sn
                            v[i &+ half] = b * c[i] + a * sn
                        }
                    }
                }
            }
        }
    }
}
