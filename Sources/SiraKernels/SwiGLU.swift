// The SwiGLU product (Llama MLP: down(silu(gate) * up)). Elementwise, SIMD8 with the
// vectorised exponential; `threads` splits long arrays (nil: `KernelThreads.count`).

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
