// SiLU and the SwiGLU product (Llama MLP: down(silu(gate) * up)). Elementwise, SIMD8 with the
// vectorised exponential; `threads` splits long arrays (nil: `KernelThreads.count`).

/// `y[i] = x[i] * sigmoid(x[i])` over `count` floats; `y` may be `x`.
public func siluForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, threads: Int? = nil) {
    let shared = UncheckedSendable((x, y))
    parallelRanges(count, minimum: 32768, threads: threads) { range in
        let (x, y) = shared.value
        forEachSIMD8(range.count) { o, n in
            let i = range.lowerBound &+ o
            let v = loadPartial(x + i, n)
            storePartial(y + i, v * simdSigmoid(v), n)
        }
    }
}

/// ACCUMULATES `dx += dy * silu'(x)` with `silu'(x) = s * (1 + x * (1 - s))`, `s = sigmoid(x)`.
public func siluBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int,
                         threads: Int? = nil) {
    let shared = UncheckedSendable((x, dy, dx))
    parallelRanges(count, minimum: 32768, threads: threads) { range in
        let (x, dy, dx) = shared.value
        forEachSIMD8(range.count) { o, n in
            let i = range.lowerBound &+ o
            let v = loadPartial(x + i, n), s = simdSigmoid(v)
            storePartial(dx + i, loadPartial(dx + i, n) + loadPartial(dy + i, n) * s * (1 + v * (1 - s)), n)
        }
    }
}

/// `out[i] = silu(gate[i]) * up[i]` over `count` floats; `out` may alias `gate` or `up`.
public func swigluForward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int,
                          threads: Int? = nil) {
    let shared = UncheckedSendable((gate, up, out))
    parallelRanges(count, minimum: 32768, threads: threads) { range in
        let (gate, up, out) = shared.value
        forEachSIMD8(range.count) { o, n in
            let i = range.lowerBound &+ o
            let g = loadPartial(gate + i, n)
            storePartial(out + i, g * simdSigmoid(g) * loadPartial(up + i, n), n)
        }
    }
}

/// Backward of `swigluForward`, ACCUMULATING: `dGate += dOut * up * silu'(gate)`,
/// `dUp += dOut * silu(gate)`. `gate`, `up` are the forward inputs.
public func swigluBackward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                           dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int,
                           threads: Int? = nil) {
    let shared = UncheckedSendable((gate, up, dOut, dGate, dUp))
    parallelRanges(count, minimum: 32768, threads: threads) { range in
        let (gate, up, dOut, dGate, dUp) = shared.value
        forEachSIMD8(range.count) { o, n in
            let i = range.lowerBound &+ o
            let g = loadPartial(gate + i, n), s = simdSigmoid(g), d = loadPartial(dOut + i, n)
            storePartial(dGate + i, loadPartial(dGate + i, n) + d * loadPartial(up + i, n) * s * (1 + g * (1 - s)), n)
            storePartial(dUp + i, loadPartial(dUp + i, n) + d * g * s, n)
        }
    }
}
