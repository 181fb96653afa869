import Dispatch
import Foundation

// Stand-ins with the exact signatures SiraKernels is landing (sgemm, RMSNorm, softmax, SwiGLU);
// this file is deleted when SiraKernels is on main. Correct first, reasonably vectorised second.

enum Transpose: Sendable {
    case noTranspose, transpose
}

/// `C[m×n] = alpha * op(A)[m×k] * op(B)[k×n] + beta * C`, fp32, row-major (see SiraKernels).
func sgemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
           alpha: Float, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
           threads: Int? = nil) {
    if m == 0 || n == 0 { return }
    // Pack op(B) as contiguous [k, n] so the inner loop is a unit-stride axpy.
    let bp = UnsafeMutablePointer<Float>.allocate(capacity: max(k * n, 1))
    defer { bp.deallocate() }
    if transB == .noTranspose {
        for p in 0..<k { (bp + p &* n).update(from: b + p &* ldb, count: n) }
    } else {
        for j in 0..<n { for p in 0..<k { bp[p &* n &+ j] = b[j &* ldb &+ p] } }
    }
    let t = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, m))
    let ctx = FallbackPointers(a: a, b: UnsafePointer(bp), c: c)
    let rowsPer = (m + t - 1) / t
    let work = { (w: Int) in
        let row = UnsafeMutablePointer<Float>.allocate(capacity: max(k, 1))
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { row.deallocate(); acc.deallocate() }
        let lo = w &* rowsPer, hi = min(m, lo &+ rowsPer)
        if lo >= hi { return }
        for i in lo..<hi {
            if transA == .noTranspose {
                row.update(from: ctx.a + i &* lda, count: k)
            } else {
                for p in 0..<k { row[p] = ctx.a[p &* lda &+ i] }
            }
            acc.update(repeating: 0, count: n)
            for p in 0..<k {
                let av = row[p]
                if av == 0 { continue }
                let bRow = ctx.b + p &* n
                var j = 0
                let av8 = SIMD8<Float>(repeating: av)
                while j &+ 8 <= n {
                    let bv = UnsafeRawPointer(bRow + j).loadUnaligned(as: SIMD8<Float>.self)
                    var cv = UnsafeRawPointer(acc + j).loadUnaligned(as: SIMD8<Float>.self)
                    cv = cv + av8 * bv
                    UnsafeMutableRawPointer(acc + j).storeBytes(of: cv, as: SIMD8<Float>.self)
                    j &+= 8
                }
                while j < n { acc[j] += av * bRow[j]; j &+= 1 }
            }
            let cRow = ctx.c + i &* ldc
            if beta == 0 {
                for j in 0..<n { cRow[j] = alpha * acc[j] }
            } else {
                for j in 0..<n { cRow[j] = alpha * acc[j] + beta * cRow[j] }
            }
        }
    }
    if t == 1 {
        work(0)
    } else {
        let shared = FallbackBox(work)
        DispatchQueue.concurrentPerform(iterations: t) { shared.value($0) }
    }
}

private struct FallbackPointers: @unchecked Sendable {
    let a: UnsafePointer<Float>
    let b: UnsafePointer<Float>
    let c: UnsafeMutablePointer<Float>
}

private struct FallbackBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

func rmsNormForward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                    y: UnsafeMutablePointer<Float>, invRMS: UnsafeMutablePointer<Float>,
                    rows: Int, dim: Int, eps: Float) {
    for r in 0..<rows {
        let xr = x + r &* dim, yr = y + r &* dim
        var ss: Float = 0
        for j in 0..<dim { ss += xr[j] * xr[j] }
        let inv = Float(1 / (Double(ss) / Double(dim) + Double(eps)).squareRoot())
        invRMS[r] = inv
        for j in 0..<dim { yr[j] = xr[j] * inv * weight[j] }
    }
}

func rmsNormBackward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, invRMS: UnsafePointer<Float>,
                     dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                     dWeight: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
        let xr = x + r &* dim, dyr = dy + r &* dim, dxr = dx + r &* dim
        let inv = invRMS[r]
        var dot: Float = 0
        for j in 0..<dim { dot += dyr[j] * weight[j] * xr[j] }
        let meanGN = dot * inv / Float(dim)
        for j in 0..<dim {
            let n = xr[j] * inv
            dxr[j] += inv * (dyr[j] * weight[j] - n * meanGN)
            dWeight[j] += dyr[j] * n
        }
    }
}

func softmaxForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                    ld: Int? = nil, scale: Float = 1, causalOffset: Int? = nil) {
    let ld = ld ?? cols
    for r in 0..<rows {
        let xr = x + r &* ld, yr = y + r &* ld
        let valid = causalOffset.map { min(cols, r + $0 + 1) } ?? cols
        var mx = -Float.infinity
        for j in 0..<valid { mx = max(mx, scale * xr[j]) }
        var sum: Float = 0
        for j in 0..<valid {
            let e = expf(scale * xr[j] - mx)
            yr[j] = e
            sum += e
        }
        let inv = 1 / sum
        for j in 0..<valid { yr[j] *= inv }
        if valid < cols { (yr + valid).update(repeating: 0, count: cols - valid) }
    }
}

func softmaxBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                     rows: Int, cols: Int, ld: Int? = nil, scale: Float = 1, causalOffset: Int? = nil) {
    let ld = ld ?? cols
    for r in 0..<rows {
        let yr = y + r &* ld, dyr = dy + r &* ld, dxr = dx + r &* ld
        let valid = causalOffset.map { min(cols, r + $0 + 1) } ?? cols
        var dot: Float = 0
        for j in 0..<valid { dot += yr[j] * dyr[j] }
        for j in 0..<valid { dxr[j] += scale * yr[j] * (dyr[j] - dot) }
    }
}

@inline(__always)
private func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

func swigluForward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i]
        out[i] = g * sigmoid(g) * up[i]
    }
}

func swigluBackward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                    dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i], s = sigmoid(g), d = dOut[i]
        dGate[i] += d * up[i] * s * (1 + g * (1 - s))
        dUp[i] += d * g * s
    }
}
