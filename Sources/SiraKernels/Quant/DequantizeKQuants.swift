/// Dequantisation of llama.cpp's 256-value "K" super-block formats (ggml's reference layouts):
///
/// | type | bytes | layout |
/// |---|---|---|
/// | Q2_K | 84 | scales[16] (4-bit scale, 4-bit min), qs[64] (2-bit), d:f16, dmin:f16 |
/// | Q3_K | 110 | hmask[32] (high bit), qs[64] (2-bit low), scales[12] (16 6-bit), d:f16 |
/// | Q4_K | 144 | d:f16, dmin:f16, scales[12] (8 6-bit scales + 8 6-bit mins), qs[128] (4-bit) |
/// | Q5_K | 176 | d:f16, dmin:f16, scales[12], qh[32] (fifth bit), qs[128] (4-bit) |
/// | Q6_K | 210 | ql[128] (4-bit low), qh[64] (2-bit high), scales:i8[16], d:f16 |
///
/// Each function writes `256·blocks` floats, with ggml's operations in ggml's order (bit-identical).
extension Dequantize {
    public static func q2_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 84
            var y = dst + b &* 256
            let d = loadHalf(p, 80), dmin = loadHalf(p, 82)
            var q = 16, s = 0
            for _ in 0 ..< 2 {
                var shift: UInt8 = 0
                for _ in 0 ..< 4 {
                    for half in 0 ..< 2 {
                        let sc = p.load(fromByteOffset: s, as: UInt8.self)
                        s += 1
                        let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                        for l in 0 ..< 16 {
                            let v = (p.load(fromByteOffset: q &+ half &* 16 &+ l, as: UInt8.self) >> shift) & 3
                            y[l] = dl * Float(v) - ml
                        }
                        y += 16
                    }
                    shift += 2
                }
                q += 32
            }
        }
    }

    public static func q3_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 110
            var y = dst + b &* 256
            let d = loadHalf(p, 108)
            let scales = unpackQ3Scales(p + 96)
            var q = 32, s = 0
            var m: UInt8 = 1
            for _ in 0 ..< 2 {
                var shift: UInt8 = 0
                for _ in 0 ..< 4 {
                    for half in 0 ..< 2 {
                        let dl = d * Float(scales[s] - 32)
                        s += 1
                        for l in 0 ..< 16 {
                            let i = half &* 16 &+ l
                            let low = Int((p.load(fromByteOffset: q &+ i, as: UInt8.self) >> shift) & 3)
                            let high = p.load(fromByteOffset: i, as: UInt8.self) & m != 0 ? 0 : 4
                            y[l] = dl * Float(low - high)
                        }
                        y += 16
                    }
                    shift += 2
                    m <<= 1
                }
                q += 32
            }
        }
    }

    /// Q3_K's 12 bytes of scales as 16 unsigned 6-bit values (low 4 bits from the first 8 bytes,
    /// high 2 bits from the last 4), as ggml's kmask1/kmask2 shuffle produces them.
    static func unpackQ3Scales(_ p: UnsafeRawPointer) -> [Int] {
        var out = [Int](repeating: 0, count: 16)
        for j in 0 ..< 16 {
            let low = j < 8 ? Int(p.load(fromByteOffset: j, as: UInt8.self) & 0xF) : Int(p.load(fromByteOffset: j - 8, as: UInt8.self) >> 4)
            let high = Int((p.load(fromByteOffset: 8 + j % 4, as: UInt8.self) >> (2 * UInt8(j / 4))) & 3)
            out[j] = low | (high << 4)
        }
        return out
    }

    /// Scale and min `j` (0..<8) of a Q4_K/Q5_K super-block (ggml's get_scale_min_k4).
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
        func u(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (Float(u(j) & 63), Float(u(j + 4) & 63)) }
        let sc = (u(j + 4) & 0xF) | ((u(j - 4) >> 6) << 4)
        let mn = (u(j + 4) >> 4) | ((u(j) >> 6) << 4)
        return (Float(sc), Float(mn))
    }

    public static func q4_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 144
            var y = dst + b &* 256
            let d = loadHalf(p, 0), dmin = loadHalf(p, 2)
            var q = 16
            for pair in 0 ..< 4 {
                let (s1, m1) = scaleMinK4(2 * pair, p + 4), (s2, m2) = scaleMinK4(2 * pair + 1, p + 4)
                let d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2
                for l in 0 ..< 32 { y[l] = d1 * Float(p.load(fromByteOffset: q &+ l, as: UInt8.self) & 0xF) - mm1 }
                for l in 0 ..< 32 { y[32 + l] = d2 * Float(p.load(fromByteOffset: q &+ l, as: UInt8.self) >> 4) - mm2 }
                y += 64
                q += 32
            }
        }
    }

    public static func q5_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 176
            var y = dst + b &* 256
            let d = loadHalf(p, 0), dmin = loadHalf(p, 2)
            var q = 48
            var u1: UInt8 = 1, u2: UInt8 = 2
            for pair in 0 ..< 4 {
                let (s1, m1) = scaleMinK4(2 * pair, p + 4), (s2, m2) = scaleMinK4(2 * pair + 1, p + 4)
                let d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2
                for l in 0 ..< 32 {
                    let ql = p.load(fromByteOffset: q &+ l, as: UInt8.self), qh = p.load(fromByteOffset: 16 &+ l, as: UInt8.self)
                    y[l] = d1 * Float(Int(ql & 0xF) + (qh & u1 != 0 ? 16 : 0)) - mm1
                    y[32 + l] = d2 * Float(Int(ql >> 4) + (qh & u2 != 0 ? 16 : 0)) - mm2
                }
                y += 64
                q += 32
                u1 <<= 2
                u2 <<= 2
            }
        }
    }

    public static func q6_K(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 210
            var y = dst + b &* 256
            let d = loadHalf(p, 208)
            var ql = 0, qh = 128, sc = 192
            for _ in 0 ..< 2 {
                for l in 0 ..< 32 {
                    let i = l / 16
                    func u(_ o: Int) -> Int { Int(p.load(fromByteOffset: o, as: UInt8.self)) }
                    func s(_ k: Int) -> Float { Float(Int8(bitPattern: p.load(fromByteOffset: sc &+ k, as: UInt8.self))) }
                    let h = u(qh &+ l)
                    let q1 = ((u(ql &+ l) & 0xF) | ((h >> 0) & 3) << 4) - 32
                    let q2 = ((u(ql &+ l &+ 32) & 0xF) | ((h >> 2) & 3) << 4) - 32
                    let q3 = ((u(ql &+ l) >> 4) | ((h >> 4) & 3) << 4) - 32
                    let q4 = ((u(ql &+ l &+ 32) >> 4) | ((h >> 6) & 3) << 4) - 32
                    y[l] = d * s(i) * Float(q1)
                    y[l + 32] = d * s(i + 2) * Float(q2)
                    y[l + 64] = d * s(i + 4) * Float(q3)
                    y[l + 96] = d * s(i + 6) * Float(q4)
                }
                y += 128
                ql += 64
                qh += 32
                sc += 8
            }
        }
    }
}
