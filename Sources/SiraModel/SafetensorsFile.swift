import Foundation
import SiraKernels
import SiraIO

/// A memory-mapped safetensors file (8-byte little-endian header length, JSON header, raw
/// little-endian data), read lazily tensor by tensor into fp32.
///
/// The whole header is validated on open, so a truncated or inconsistent file fails before any
/// weight is used: every entry has a known dtype, `data_offsets` inside the data section,
/// `end - begin == dtype size × shape product`, and no two entries overlap. Errors name the file
/// and the tensor.
public final class SafetensorsFile: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        /// Byte range inside the data section (which starts after the header).
        public let begin: Int
        public let end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let url: URL
    /// Entries in file order (by offset).
    public let entries: [Entry]
    public let metadata: [String: String]
    private let byName: [String: Int]
    private let file: MappedFile
    private let dataStart: Int

    public init(_ url: URL) throws {
        self.url = url
        let path = url.path
        do { file = try MappedFile(url) } catch {
            throw SafetensorsError(path: path, tensor: nil, reason: "\(error)")
        }
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw SafetensorsError(path: path, tensor: nil, reason: "file is \(bytes.count) bytes, shorter than the 8-byte header length")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafetensorsError(path: path, tensor: nil,
                                   reason: "header length \(headerLength) exceeds the file (\(bytes.count) bytes): truncated")
        }
        dataStart = 8 + Int(headerLength)
        let dataSize = bytes.count - dataStart
        let headerData = Data(bytes[8..<dataStart])
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerData) } catch {
            throw SafetensorsError(path: path, tensor: nil, reason: "header is not valid JSON")
        }
        guard let object = json as? [String: Any] else {
            throw SafetensorsError(path: path, tensor: nil, reason: "header is not a JSON object")
        }
        var meta: [String: String] = [:]
        var list: [Entry] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw SafetensorsError(path: path, tensor: nil, reason: "__metadata__ is not an object")
                }
                for (k, v) in m {
                    guard let s = v as? String else {
                        throw SafetensorsError(path: path, tensor: nil, reason: "__metadata__.\(k) is not a string")
                    }
                    meta[k] = s
                }
                continue
            }
            list.append(try Self.parseEntry(name: name, value: value, dataSize: dataSize, path: path))
        }
        list.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        for i in list.indices.dropFirst() where list[i].begin < list[i - 1].end {
            throw SafetensorsError(path: path, tensor: list[i].name,
                                   reason: "data overlaps tensor '\(list[i - 1].name)' (bytes \(list[i].begin) < \(list[i - 1].end))")
        }
        entries = list
        metadata = meta
        var index: [String: Int] = [:]
        for (i, e) in list.enumerated() { index[e.name] = i }
        byName = index
    }

    private static func parseEntry(name: String, value: Any, dataSize: Int, path: String) throws -> Entry {
        func bad(_ why: String) -> SafetensorsError { SafetensorsError(path: path, tensor: name, reason: why) }
        guard let fields = value as? [String: Any] else { throw bad("entry is not an object") }
        guard let dtypeName = fields["dtype"] as? String else { throw bad("missing dtype") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw bad("unknown dtype \(dtypeName)") }
        guard let shapeAny = fields["shape"] as? [Any] else { throw bad("missing shape") }
        var shape: [Int] = []
        for s in shapeAny {
            guard let n = (s as? NSNumber)?.intValue, n >= 0 else { throw bad("shape \(shapeAny) is not a list of non-negative integers") }
            shape.append(n)
        }
        guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
              let begin = (offsets[0] as? NSNumber)?.intValue, let end = (offsets[1] as? NSNumber)?.intValue
        else { throw bad("data_offsets must be [begin, end]") }
        guard begin >= 0, end >= begin else { throw bad("data_offsets [\(begin), \(end)] are not an increasing range") }
        guard end <= dataSize else {
            throw bad("data_offsets end \(end) is past the data section (\(dataSize) bytes): file truncated")
        }
        var elements = 1
        for s in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: s)
            guard !overflow else { throw bad("shape \(shape) overflows") }
            elements = p
        }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, expected == end - begin else {
            throw bad("\(dtype.rawValue) \(shape) needs \(elements * dtype.size) bytes but data_offsets span \(end - begin)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The tensor converted to fp32 (F32, F16 and BF16 are supported). Unless `allowNonFinite`, a
    /// NaN or infinity is an error naming the tensor and element (weights must be finite).
    public func tensor(_ name: String, allowNonFinite: Bool = false) throws -> Tensor {
        guard let e = entry(name) else {
            throw SafetensorsError(path: url.path, tensor: name, reason: "no such tensor")
        }
        let out = Tensor(shape: e.shape)
        try read(e, into: out.pointer, allowNonFinite: allowNonFinite)
        return out
    }

    /// Converts the tensor into `destination` (`entry.count` floats); non-finite values as `tensor`.
    public func read(_ e: Entry, into destination: UnsafeMutablePointer<Float>, allowNonFinite: Bool = false) throws {
        let src = UnsafeRawPointer(file.bytes.baseAddress!) + dataStart + e.begin
        let n = e.count
        switch e.dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: src, byteCount: n * 4)
            #if _endian(big)
            for i in 0..<n { destination[i] = Float(bitPattern: UInt32(littleEndian: destination[i].bitPattern)) }
            #endif
        case .bf16:
            for i in 0..<n {
                let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f16:
            for i in 0..<n {
                let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = halfToFloat(bits)
            }
        default:
            throw SafetensorsError(path: url.path, tensor: e.name,
                                   reason: "dtype \(e.dtype.rawValue) cannot be read as floating point (F32, F16, BF16 are supported)")
        }
        // Refused here, at the reader, for every weight (base, adapter, resumed state): a NaN or
        // infinity would flow into kernels whose comparisons it makes false.
        if !allowNonFinite, let bad = firstNonFinite(destination, count: n) {
            throw SafetensorsError(path: url.path, tensor: e.name,
                                   reason: "element \(bad) is \(destination[bad]) (weights must be finite)")
        }
    }

    private func firstNonFinite(_ p: UnsafePointer<Float>, count n: Int) -> Int? {
        var i = 0
        while i < n {
            if !p[i].isFinite { return i }
            i &+= 1
        }
        return nil
    }
}

/// fp32 → bfloat16 with round-to-nearest-even; NaN stays a (quiet) NaN.
@inline(__always)
func floatToBF16(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    if f.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
}

public enum SafetensorsDType: String, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
        }
    }
}

public struct SafetensorsError: Error, CustomStringConvertible {
    public let path: String
    public let tensor: String?
    public let reason: String

    public var description: String {
        if let tensor { return "\(path): tensor '\(tensor)': \(reason)" }
        return "\(path): \(reason)"
    }
}
