/// Dequantisation of llama.cpp's 32-value block formats (ggml's reference layouts, little-endian):
///
/// | type | bytes | layout | value j |
/// |---|---|---|---|
/// | Q4_0 | 18 | d:f16, qs[16] | (nibble − 8)·d |
/// | Q4_1 | 20 | d:f16, m:f16, qs[16] | nibble·d + m |
/// | Q5_0 | 22 | d:f16, qh:u32, qs[16] | (nibble + 16·bit − 16)·d |
/// | Q5_1 | 24 | d:f16, m:f16, qh:u32, qs[16] | (nibble + 16·bit)·d + m |
/// | Q8_0 | 34 | d:f16, qs:i8[32] | q·d |
///
/// Nibbles: value j < 16 is the low nibble of qs[j], value j + 16 its high nibble; bit j of qh is
/// the fifth bit of value j. Each function turns `blocks` consecutive blocks at `src` into
/// `32·blocks` floats at `dst`, computing exactly what ggml's reference code computes (same
/// operations in the same order, so the results are bit-identical).
public enum Dequantize {
    public static func q4_0(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 18, y = dst + b &* 32
            let d = loadHalf(p, 0)
            for j in 0 ..< 16 {
                let q = p.load(fromByteOffset: 2 &+ j, as: UInt8.self)
                y[j] = Float(Int(q & 0x0F) - 8) * d
                y[j + 16] = Float(Int(q >> 4) - 8) * d
            }
        }
    }

    public static func q4_1(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 20, y = dst + b &* 32
            let d = loadHalf(p, 0), m = loadHalf(p, 2)
            for j in 0 ..< 16 {
                let q = p.load(fromByteOffset: 4 &+ j, as: UInt8.self)
                y[j] = Float(q & 0x0F) * d + m
                y[j + 16] = Float(q >> 4) * d + m
            }
        }
    }

    public static func q5_0(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 22, y = dst + b &* 32
            let d = loadHalf(p, 0)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0 ..< 16 {
                let q = p.load(fromByteOffset: 6 &+ j, as: UInt8.self)
                let h0 = Int((qh >> UInt32(j)) & 1) << 4, h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float((Int(q & 0x0F) | h0) - 16) * d
                y[j + 16] = Float((Int(q >> 4) | h1) - 16) * d
            }
        }
    }

    public static func q5_1(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 24, y = dst + b &* 32
            let d = loadHalf(p, 0), m = loadHalf(p, 2)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0 ..< 16 {
                let q = p.load(fromByteOffset: 8 &+ j, as: UInt8.self)
                let h0 = Int((qh >> UInt32(j)) & 1) << 4, h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float(Int(q & 0x0F) | h0) * d + m
                y[j + 16] = Float(Int(q >> 4) | h1) * d + m
            }
        }
    }

    public static func q8_0(_ src: UnsafeRawPointer, blocks: Int, into dst: UnsafeMutablePointer<Float>) {
        for b in 0 ..< blocks {
            let p = src + b &* 34, y = dst + b &* 32
            let d = loadHalf(p, 0)
            for j in 0 ..< 32 {
                y[j] = Float(Int8(bitPattern: p.load(fromByteOffset: 2 &+ j, as: UInt8.self))) * d
            }
        }
    }

    /// F16 and BF16 values (`count` of them) as fp32.
    public static func f16(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for i in 0 ..< count { dst[i] = loadHalf(src, 2 &* i) }
    }

    public static func bf16(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for i in 0 ..< count {
            dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self))) << 16)
        }
    }

    public static func f32(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for i in 0 ..< count {
            dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self)))
        }
    }
}
