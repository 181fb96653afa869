import SiraIO
import Testing
@testable import SiraModel

/// Fills `t` with U(-scale, scale) from a seeded stream.
func fillRandom(_ t: Tensor, scale: Float, rng: inout Xoshiro256) {
    for i in 0..<t.count { t[i] = (rng.nextUnitFloat() * 2 - 1) * scale }
}

func randomArray(_ n: Int, scale: Float, rng: inout Xoshiro256) -> [Float] {
    (0..<n).map { _ in (rng.nextUnitFloat() * 2 - 1) * scale }
}

/// A scalar loss around one adapter: `L = Σ c ⊙ (y0 + delta(x)) + auxiliaryLoss`, summed in Double.
/// Its gradient w.r.t. y is `c`, so backward with `dy = c` must give ∂L/∂params and ∂L/∂x.
struct AdapterProbe {
    let adapter: any ProjectionAdapter
    let tokens: Int
    let mode: AdapterMode
    var x: [Float]
    let c: [Float]

    init(adapter: any ProjectionAdapter, tokens: Int, mode: AdapterMode, rng: inout Xoshiro256) {
        self.adapter = adapter
        self.tokens = tokens
        self.mode = mode
        x = randomArray(tokens * adapter.inFeatures, scale: 1, rng: &rng)
        c = randomArray(tokens * adapter.outFeatures, scale: 1, rng: &rng)
    }

    /// Runs forward and returns (loss, y).
    func forward() -> (loss: Double, y: [Float]) {
        var y = [Float](repeating: 0, count: tokens * adapter.outFeatures)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                adapter.forward(x: xp.baseAddress!, y: yp.baseAddress!, tokens: tokens, mode: mode)
            }
        }
        var loss = Double(adapter.auxiliaryLoss)
        for i in 0..<y.count { loss += Double(c[i]) * Double(y[i]) }
        return (loss, y)
    }

    /// Forward + backward from zeroed gradients; returns dx.
    func gradients() -> [Float] {
        for p in adapter.parameters { p.grad?.zero() }
        _ = forward()
        var dx = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            c.withUnsafeBufferPointer { cp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    adapter.backward(x: xp.baseAddress!, dy: cp.baseAddress!, dx: dxp.baseAddress!, tokens: tokens)
                }
            }
        }
        return dx
    }
}

/// Compares analytic gradients of every parameter and of x with central finite differences.
///
/// `h` is the step; `routingSignature` (when given) must be unchanged by a perturbation for that
/// coordinate to count — a flip of a top-k choice makes the loss non-differentiable there, which the
/// spec excludes. Returns the number of coordinates skipped for that reason.
@discardableResult
func checkGradients(_ probe: inout AdapterProbe, h: Float = 1e-2, absTol: Double = 2e-3, relTol: Double = 2e-2,
                    maxPerTensor: Int = 60, routingSignature: (() -> [Float])? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) -> Int {
    let dx = probe.gradients()
    let grads = probe.adapter.parameters.map { $0.grad!.array }
    _ = probe.forward()
    let baseline = routingSignature?()
    var skipped = 0
    var checked = 0

    func central(_ set: (Float) -> Void, original: Float) -> Double? {
        set(original + h)
        let up = probe.forward().loss
        let sigUp = routingSignature?()
        set(original - h)
        let down = probe.forward().loss
        let sigDown = routingSignature?()
        set(original)
        if let baseline, sigUp != baseline || sigDown != baseline { return nil }
        return (up - down) / (2 * Double(h))
    }

    func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
        let tol = absTol + relTol * abs(numeric)
        #expect(abs(Double(analytic) - numeric) <= tol, "\(what): analytic \(analytic) vs numeric \(numeric)", sourceLocation: sourceLocation)
        checked += 1
    }

    for (pi, p) in probe.adapter.parameters.enumerated() {
        let stride = max(1, p.value.count / maxPerTensor)
        for i in Swift.stride(from: 0, to: p.value.count, by: stride) {
            let original = p.value[i]
            guard let numeric = central({ p.value[i] = $0 }, original: original) else { skipped += 1; continue }
            compare(grads[pi][i], numeric, "\(p.name)[\(i)]")
        }
    }
    let stride = max(1, probe.x.count / maxPerTensor)
    for i in Swift.stride(from: 0, to: probe.x.count, by: stride) {
        let original = probe.x[i]
        guard let numeric = central({ probe.x[i] = $0 }, original: original) else { skipped += 1; continue }
        compare(dx[i], numeric, "x[\(i)]")
    }
    #expect(checked > 0, sourceLocation: sourceLocation)
    return skipped
}
