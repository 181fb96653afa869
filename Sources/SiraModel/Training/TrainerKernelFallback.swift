import Foundation

// Stand-ins with SiraKernels' exact signatures (adamwStep, clipGradNorm); this file is deleted
// when SiraKernels lands on main.

struct AdamWConfig: Sendable, Equatable {
    var learningRate: Float
    var beta1: Float
    var beta2: Float
    var epsilon: Float
    var weightDecay: Float

    init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay
    }
}

func adamwStep(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
               m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
               step: Int, config: AdamWConfig) {
    let b1 = config.beta1, b2 = config.beta2
    let c1 = Float(1 / (1 - pow(Double(b1), Double(step))))
    let c2 = Float(1 / (1 - pow(Double(b2), Double(step))))
    let lr = config.learningRate, wd = config.weightDecay, eps = config.epsilon
    for i in 0..<count {
        let g = gradients[i]
        let mi = b1 * m[i] + (1 - b1) * g
        let vi = b2 * v[i] + (1 - b2) * g * g
        m[i] = mi
        v[i] = vi
        let p = parameters[i]
        parameters[i] = p - lr * ((mi * c1) / ((vi * c2).squareRoot() + eps) + wd * p)
    }
}

@discardableResult
func clipGradNorm(_ buffers: [UnsafeMutableBufferPointer<Float>], maxNorm: Float) -> Float {
    let norm = globalGradNorm(buffers.map { UnsafeBufferPointer($0) })
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 { for b in buffers { for i in b.indices { b[i] *= coef } } }
    return norm
}

func globalGradNorm(_ buffers: [UnsafeBufferPointer<Float>]) -> Float {
    var total = 0.0
    for b in buffers { for g in b { total += Double(g) * Double(g) } }
    return Float(total.squareRoot())
}
