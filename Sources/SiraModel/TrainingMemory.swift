import Foundation

/// What adapter training or pretraining on a `batch × seq` shape will hold, computed from the
/// configuration alone, so an impossible manifest (`train: {batch: 4096, seq_len: 65536}`) is
/// refused by `validate` and by the stage before anything is allocated, instead of the process
/// dying in the allocator. An estimate: the base's fp32 weights, `LlamaActivations` (the same
/// shapes it allocates) and the head's logits chunk; adapters, optimizer state and the allocator's
/// slack are small next to them at the sizes where this matters.
public struct TrainingMemory: Sendable, Equatable {
    public var weightBytes: Double
    public var activationBytes: Double
    public var total: Double { weightBytes + activationBytes }

    public init(config c: LlamaConfig, batch: Int, seq: Int) {
        let d = Double(c.hiddenSize), ff = Double(c.intermediateSize), vocab = Double(c.vocabSize)
        let qDim = Double(c.numAttentionHeads * c.headDim), kvDim = Double(c.numKeyValueHeads * c.headDim)
        let layers = Double(c.numHiddenLayers), n = Double(batch) * Double(seq)
        let perLayer = d * qDim * 2 + d * kvDim * 2 + 3 * d * ff + 2 * d
            + (c.qkvBias ? qDim + 2 * kvDim : 0) + (c.oBias ? d : 0) + (c.qkNorm ? 2 * Double(c.headDim) : 0)
        let weights = vocab * d * (c.tieWordEmbeddings ? 1 : 2) + d + layers * perLayer
        weightBytes = 4 * weights
        // LlamaActivations: per layer, the residual entering it, q/k/v/attention, the mid residual,
        // gate/up and two inverse RMS rows; shared work buffers; the chunked logits of the head.
        let qk = c.qkNorm ? qDim + kvDim + Double(c.numAttentionHeads + c.numKeyValueHeads) : 0
        let layer = d + 2 * qDim + 2 * kvDim + d + 2 * ff + 2 + qk
        let shared = d + 1 + 2 * d + ff + 2 * d + 2 * qDim + 2 * kvDim + 3 * ff + (c.qkNorm ? qDim + kvDim : 0)
        let logits = min(n, max(128, Double((4 << 20) / max(1, c.vocabSize)))) * vocab
        let scratch = Double(max(c.hiddenSize, c.headDim))
        activationBytes = 4 * (n * (layers * layer + shared) + scratch + logits)
    }

    /// Refuses a shape that cannot fit `available` bytes (default: 90% of physical memory), saying
    /// the estimate and naming `key` (the manifest section whose batch and seq_len decide it).
    public func check(key: String, batch: Int, seq: Int, available: Double = Double(ProcessInfo.processInfo.physicalMemory) * 0.9) throws {
        guard total > available else { return }
        throw TrainingMemoryError(message: "\(key): batch \(batch) × seq_len \(seq) needs about \(Self.gib(total)) "
            + "(weights \(Self.gib(weightBytes)), activations \(Self.gib(activationBytes))), more than this machine's "
            + "\(Self.gib(available)) (90% of its memory); lower batch or seq_len, or raise grad_accum")
    }

    static func gib(_ bytes: Double) -> String { String(format: "%.1f GiB", bytes / Double(1 << 30)) }
}

public struct TrainingMemoryError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
