// Global gradient norm and clipping over many parameter buffers (torch.nn.utils.clip_grad_norm_).

/// `sqrt(Σ_buffers Σ_i g_i²)`, accumulated in Double.
public func globalGradNorm(_ buffers: [UnsafeBufferPointer<Float>]) -> Float {
    var total = 0.0
    for buffer in buffers {
        guard let base = buffer.baseAddress else { continue }
        var i = 0
        let count = buffer.count
        while i < count {
            let len = min(4096, count - i)
            total += Double(sumOfSquares(base + i, len))
            i += len
        }
    }
    return Float(total.squareRoot())
}

/// Scales every gradient by `maxNorm / (norm + 1e-6)` when the global norm exceeds `maxNorm`
/// (PyTorch's rule) and returns the norm measured before clipping.
@discardableResult
public func clipGradNorm(_ buffers: [UnsafeMutableBufferPointer<Float>], maxNorm: Float) -> Float {
    let norm = globalGradNorm(buffers.map { UnsafeBufferPointer($0) })
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        for buffer in buffers {
            for i in buffer.indices { buffer[i] *= coef }
        }
    }
    return norm
}
