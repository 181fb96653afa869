// SiLU and the SwiGLU product (Llama MLP: down(silu(gate) * up)).
import Foundation


@inline(__always)
func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// `y[i] = x[i] * sigmoid(x[i])` over `count` floats; `y` may be `x`.
public func siluForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] = x[i] * sigmoid(x[i]) }
}

/// ACCUMULATES `dx += dy * silu'(x)` with `silu'(x) = s * (1 + x * (1 - s))`, `s = sigmoid(x)`.
public func siluBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let s = sigmoid(x[i])
        dx[i] += dy[i] * s * (1 + x[i] * (1 - s))
    }
}

/// `out[i] = silu(gate[i]) * up[i]` over `count` floats; `out` may alias `gate` or `up`.
public func swigluForward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i]
        out[i] = g * sigmoid(g) * up[i]
    }
}

/// Backward of `swigluForward`, ACCUMULATING: `dGate += dOut * up * silu'(gate)`,
/// `dUp += dOut * silu(gate)`. `gate`, `up` are the forward inputs.
public func swigluBackward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                           dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i], s = sigmoid(g), d = dOut[i]
        dGate[i] += d * up[i] * s * (1 + g * (1 - s))
        dUp[i] += d * g * s
    }
}
