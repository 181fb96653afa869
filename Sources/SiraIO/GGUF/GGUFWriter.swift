import Foundation

/// Writes a GGUF v3 file (little-endian, alignment 32) of metadata and F32 tensors, atomically:
/// what the product hands to llama.cpp (a LoRA adapter). Only F32 is written, so every tensor's
/// bytes are its values as they are; quantising is left to llama.cpp's own tools.
///
/// Layout (GGUF v3): magic `GGUF`, version, tensor count, metadata count, the metadata
/// (key string, value type, value), the tensor infos (name, dimension count, dimensions innermost
/// first, type, offset from the data section), padding to the alignment, then each tensor's bytes
/// at its offset, each padded to the alignment.
public struct GGUFWriter {
    public struct Tensor {
        public var name: String
        /// PyTorch order (outermost first), as `GGUFTensorInfo.shape`.
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    public static let alignment = 32
    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    /// Adds a tensor; a name given twice or a shape that does not hold the values is refused.
    public mutating func add(_ tensor: Tensor) throws {
        guard !tensors.contains(where: { $0.name == tensor.name }) else {
            throw GGUFError("GGUF writer", "tensor \(tensor.name) added twice")
        }
        guard (1...4).contains(tensor.shape.count), tensor.shape.allSatisfy({ $0 > 0 }),
              tensor.shape.reduce(1, *) == tensor.values.count else {
            throw GGUFError("GGUF writer", "tensor \(tensor.name): shape \(tensor.shape) does not hold \(tensor.values.count) values")
        }
        tensors.append(tensor)
    }

    /// The whole file's bytes.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = Array("GGUF".utf8)
        Self.put(UInt32(3), &out)
        Self.put(UInt64(tensors.count), &out)
        Self.put(UInt64(metadata.count), &out)
        for (key, value) in metadata {
            Self.put(key, &out)
            Self.put(Self.typeCode(value), &out)
            Self.putValue(value, &out)
        }
        var offset = 0
        for t in tensors {
            Self.put(t.name, &out)
            Self.put(UInt32(t.shape.count), &out)
            for d in t.shape.reversed() { Self.put(UInt64(d), &out) }
            Self.put(GGMLType.f32.rawValue, &out)
            Self.put(UInt64(offset), &out)
            offset += Self.padded(t.values.count * 4)
        }
        out += [UInt8](repeating: 0, count: Self.padded(out.count) - out.count)
        for t in tensors {
            t.values.withUnsafeBytes { out += $0 }
            out += [UInt8](repeating: 0, count: Self.padded(t.values.count * 4) - t.values.count * 4)
        }
        return out
    }

    /// Writes the file atomically.
    public func write(to url: URL) throws { try AtomicFile.write(bytes(), to: url) }

    static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    static func put(_ s: String, _ out: inout [UInt8]) {
        let utf8 = Array(s.utf8)
        put(UInt64(utf8.count), &out)
        out += utf8
    }

    /// GGUF's value type codes.
    static func typeCode(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    static func putValue(_ v: GGUFValue, _ out: inout [UInt8]) {
        switch v {
        case let .uint8(x): put(x, &out)
        case let .int8(x): put(x, &out)
        case let .uint16(x): put(x, &out)
        case let .int16(x): put(x, &out)
        case let .uint32(x): put(x, &out)
        case let .int32(x): put(x, &out)
        case let .uint64(x): put(x, &out)
        case let .int64(x): put(x, &out)
        case let .float32(x): put(x.bitPattern, &out)
        case let .float64(x): put(x.bitPattern, &out)
        case let .bool(x): out.append(x ? 1 : 0)
        case let .string(s): put(s, &out)
        case let .array(elementType, items):
            put(elementType, &out)
            put(UInt64(items.count), &out)
            for item in items { putValue(item, &out) }
        }
    }
}
