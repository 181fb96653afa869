import Foundation

/// A GGUF file (llama.cpp's model format, versions 2 and 3), memory-mapped: the header, every
/// metadata value, and each tensor's place in the data section. Tensor bytes are never copied by
/// the reader; `bytes(of:)` is a view into the mapping.
///
/// Everything the header says is checked before it is trusted: counts, string and array lengths
/// against the bytes left, every tensor's type, dimensions, offset (aligned, inside the data
/// section) and size (a whole number of blocks, inside the file, no overlap with another tensor),
/// with overflow-checked arithmetic. A file that is truncated or lies gets a `GGUFError` naming
/// the file and the key or tensor, never a crash or an allocation sized by the file's claims.
public final class GGUFFile: @unchecked Sendable {
    public let url: URL
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    /// Start of the data section in the file (aligned to `alignment`).
    public let dataOffset: Int
    public let alignment: Int
    private let file: MappedFile
    private let index: [String: Int]
    private let values: [String: GGUFValue]

    public init(_ url: URL) throws {
        self.url = url
        let path = url.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw GGUFError(path, "no such file") }
        guard !isDir.boolValue else { throw GGUFError(path, "a folder, not a GGUF file") }
        file = try MappedFile(url)
        var r = GGUFCursor(bytes: file.bytes, path: path)
        guard file.count >= 4, Array(file.bytes[0 ..< 4]) == Array("GGUF".utf8) else {
            throw GGUFError(path, "not a GGUF file (no GGUF magic)")
        }
        r.offset = 4
        version = try r.u32("version")
        guard version == 2 || version == 3 else {
            throw GGUFError(path, "GGUF version \(version) is not supported (2 and 3 are)")
        }
        let tensorCount = try r.count("tensor count", minimumBytesEach: 24)
        let kvCount = try r.count("metadata count", minimumBytesEach: 12)
        var metadata: [(key: String, value: GGUFValue)] = []
        var values: [String: GGUFValue] = [:]
        for _ in 0 ..< kvCount {
            let key = try r.string("a metadata key")
            let type = try r.u32("the type of \(key)")
            let value = try r.value(type: type, key: key, depth: 0)
            guard values[key] == nil else { throw GGUFError(path, "metadata key \(key) appears twice") }
            values[key] = value
            metadata.append((key, value))
        }
        var alignment = 32
        if let a = values["general.alignment"] {
            guard let n = a.int, n > 0, n <= 1 << 20, n & (n - 1) == 0 else {
                throw GGUFError(path, "general.alignment must be a power of two up to 1 MiB, got \(a)")
            }
            alignment = n
        }
        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for i in 0 ..< tensorCount {
            let name = try r.string("the name of tensor \(i)")
            let dims = try r.u32("the dimension count of \(name)")
            guard dims >= 1, dims <= 4 else { throw GGUFError(path, "tensor \(name): \(dims) dimensions (1 to 4 allowed)") }
            var shape: [Int] = []
            var elements = 1
            for _ in 0 ..< dims {
                let d = try r.u64("a dimension of \(name)")
                guard d >= 1, d <= 1 << 40, let di = Int(exactly: d) else { throw GGUFError(path, "tensor \(name): dimension \(d) out of range") }
                let (e, o) = elements.multipliedReportingOverflow(by: di)
                guard !o, e <= 1 << 40 else { throw GGUFError(path, "tensor \(name): too many elements") }
                elements = e
                shape.append(di)
            }
            let rawType = try r.u32("the type of \(name)")
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError(path, "tensor \(name): unknown ggml type \(rawType)")
            }
            guard let bytes = type.byteCount(elements: elements), shape[0] % type.blockElements == 0 else {
                throw GGUFError(path, "tensor \(name): \(type) stores blocks of \(type.blockElements) values along the row, but the row has \(shape[0])")
            }
            let offset = try r.u64("the offset of \(name)")
            guard let off = Int(exactly: offset), off % alignment == 0 else {
                throw GGUFError(path, "tensor \(name): offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            guard index[name] == nil else { throw GGUFError(path, "tensor \(name) appears twice") }
            index[name] = infos.count
            infos.append(GGUFTensorInfo(name: name, dimensions: shape, type: rawType, offset: off, byteCount: bytes))
        }
        let (rounded, o) = r.offset.addingReportingOverflow(alignment - 1)
        guard !o else { throw GGUFError(path, "header too large") }
        dataOffset = rounded / alignment * alignment
        // Every tensor inside the file, none overlapping another.
        let dataBytes = max(0, file.count - dataOffset)
        for t in infos {
            let (end, o) = t.offset.addingReportingOverflow(t.byteCount)
            guard !o, end <= dataBytes else {
                throw GGUFError(path, "tensor \(t.name): its \(t.byteCount) bytes at data offset \(t.offset) run past the end of the file (truncated?)")
            }
        }
        let byOffset = infos.sorted { $0.offset < $1.offset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw GGUFError(path, "tensors \(a.name) and \(b.name) overlap")
        }
        self.metadata = metadata
        self.values = values
        self.tensors = infos
        self.index = index
        self.alignment = alignment
    }

    public subscript(key: String) -> GGUFValue? { values[key] }

    public func tensor(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The stored bytes of a tensor: a view into the mapping, valid while `self` is alive.
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[(dataOffset + tensor.offset) ..< (dataOffset + tensor.offset + tensor.byteCount)])
    }

    /// The file's size in bytes.
    public var fileSize: Int { file.count }
}

/// Reads the header's little-endian fields, checking each against the bytes left.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    private mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws -> Int {
        guard n >= 0, n <= bytes.count - offset else { throw GGUFError(path, "truncated while reading \(what())") }
        defer { offset += n }
        return offset
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { bytes[try take(1, what())] }
    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(2, what()), as: UInt16.self))
    }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(4, what()), as: UInt32.self))
    }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(8, what()), as: UInt64.self))
    }

    /// A count of items each at least `minimumBytesEach` long: more than the bytes left could hold
    /// is a lie, refused before anything is allocated for it.
    mutating func count(_ what: String, minimumBytesEach: Int) throws -> Int {
        let n = try u64(what)
        guard let c = Int(exactly: n), c <= (bytes.count - offset) / max(1, minimumBytesEach) else {
            throw GGUFError(path, "\(what) \(n) is more than the file can hold")
        }
        return c
    }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let n = try u64("the length of \(what())")
        guard let len = Int(exactly: n), len <= bytes.count - offset else { throw GGUFError(path, "truncated while reading \(what())") }
        let start = try take(len, what())
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start ..< start + len]), as: UTF8.self)
    }

    mutating func value(type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try u8(key))
        case 1: return .int8(Int8(bitPattern: try u8(key)))
        case 2: return .uint16(try u16(key))
        case 3: return .int16(Int16(bitPattern: try u16(key)))
        case 4: return .uint32(try u32(key))
        case 5: return .int32(Int32(bitPattern: try u32(key)))
        case 6: return .float32(Float(bitPattern: try u32(key)))
        case 7:
            let b = try u8(key)
            guard b <= 1 else { throw GGUFError(path, "metadata \(key): bool byte \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case 8: return .string(try string(key))
        case 9:
            guard depth < 4 else { throw GGUFError(path, "metadata \(key): arrays nested too deeply") }
            let elementType = try u32("the element type of \(key)")
            let sizes: [UInt32: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8]
            guard let each = sizes[elementType] else { throw GGUFError(path, "metadata \(key): unknown array element type \(elementType)") }
            let n = try count("the length of \(key)", minimumBytesEach: each)
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0 ..< n { items.append(try value(type: elementType, key: key, depth: depth + 1)) }
            return .array(elementType: elementType, items)
        case 10: return .uint64(try u64(key))
        case 11: return .int64(Int64(bitPattern: try u64(key)))
        case 12: return .float64(Double(bitPattern: try u64(key)))
        default: throw GGUFError(path, "metadata \(key): unknown value type \(type)")
        }
    }
}
