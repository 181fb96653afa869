/// How the micro-kernel combines its product `acc` (Σ over one kc block) with C.
enum GemmUpdate {
    /// `C = alpha * acc` (first kc block with beta == 0: C is not read).
    case overwrite
    /// `C = alpha * acc + beta * C` (first kc block).
    case scale(Float)
    /// `C = C + alpha * acc` (later kc blocks).
    case accumulate
}

/// The 6x16 register-blocked micro-kernel: `acc = Σ_p a[p*6 + r] * b[p*16 + j]` over `kc`
/// packed steps, then C's `rows x cols` corner (rows <= 6, cols <= 16, row stride `ldc`) is
/// updated per `update`. Partial tiles go through a local tile with the same arithmetic, so an
/// element's value does not depend on whether its tile was partial.
@inline(__always)
func gemmMicroKernel(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int,
                     alpha: Float, update: GemmUpdate) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    var pa = a
    var pb = UnsafeRawPointer(b)
    var p = 0
    while p < kc {
        let b0 = pb.load(as: SIMD8<Float>.self)
        let b1 = pb.load(fromByteOffset: 32, as: SIMD8<Float>.self)
        var av = SIMD8<Float>(repeating: pa[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[2])
        c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[3])
        c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[4])
        c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[5])
        c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
        pa += 6
        pb += 64
        p &+= 1
    }
    if rows == gemmMR && cols == gemmNR {
        gemmStoreRow(c, c00, c01, alpha, update)
        gemmStoreRow(c + ldc, c10, c11, alpha, update)
        gemmStoreRow(c + 2 &* ldc, c20, c21, alpha, update)
        gemmStoreRow(c + 3 &* ldc, c30, c31, alpha, update)
        gemmStoreRow(c + 4 &* ldc, c40, c41, alpha, update)
        gemmStoreRow(c + 5 &* ldc, c50, c51, alpha, update)
        return
    }
    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 12) { t in
        t[0] = c00; t[1] = c01; t[2] = c10; t[3] = c11; t[4] = c20; t[5] = c21
        t[6] = c30; t[7] = c31; t[8] = c40; t[9] = c41; t[10] = c50; t[11] = c51
        let tile = UnsafeRawPointer(t.baseAddress!).assumingMemoryBound(to: Float.self)
        for r in 0..<rows {
            let row = c + r &* ldc, acc = tile + r &* gemmNR
            for j in 0..<cols {
                switch update {
                case .overwrite: row[j] = alpha * acc[j]
                case .scale(let beta): row[j] = alpha * acc[j] + beta * row[j]
                case .accumulate: row[j] = row[j] + alpha * acc[j]
                }
            }
        }
    }
}

@inline(__always)
func gemmStoreRow(_ c: UnsafeMutablePointer<Float>, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>,
                  _ alpha: Float, _ update: GemmUpdate) {
    let raw = UnsafeMutableRawPointer(c)
    let a = SIMD8<Float>(repeating: alpha)
    var r0 = a * v0, r1 = a * v1
    switch update {
    case .overwrite:
        break
    case .scale(let beta):
        let b = SIMD8<Float>(repeating: beta)
        r0 = r0 + b * raw.loadUnaligned(as: SIMD8<Float>.self)
        r1 = r1 + b * raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
    case .accumulate:
        r0 = raw.loadUnaligned(as: SIMD8<Float>.self) + r0
        r1 = raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) + r1
    }
    raw.storeBytes(of: r0, as: SIMD8<Float>.self)
    raw.storeBytes(of: r1, toByteOffset: 32, as: SIMD8<Float>.self)
}
