import Foundation
import SiraIO

/// Writes fp32 tensors as a safetensors file, atomically (temporary file, fsync, rename).
///
/// Tensors are stored in the order given, packed back to back; the JSON header is padded with
/// spaces to a multiple of 8 bytes as the reference implementation does, so the data section is
/// aligned. `dtype` is `.f32` (exact) or `.bf16` (round-to-nearest-even, half the size).
public enum SafetensorsWriter {
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to url: URL,
                             dtype: SafetensorsDType = .f32, metadata: [String: String] = [:]) throws {
        guard dtype == .f32 || dtype == .bf16 else {
            throw SafetensorsError(path: url.path, tensor: nil, reason: "writing \(dtype.rawValue) is not supported (F32, BF16)")
        }
        var seen = Set<String>()
        for t in tensors where !seen.insert(t.name).inserted || t.name == "__metadata__" {
            throw SafetensorsError(path: url.path, tensor: t.name, reason: "duplicate or reserved tensor name")
        }
        let header = headerJSON(tensors, dtype: dtype, metadata: metadata)
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var prefix = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { prefix[i] = UInt8(truncatingIfNeeded: UInt64(headerBytes.count) >> (8 * UInt64(i))) }
        try AtomicFile.write(to: url) { handle in
            try handle.write(contentsOf: Data(prefix + headerBytes))
            let chunk = 1 << 20
            for (_, t) in tensors {
                var start = 0
                while start < t.count {
                    let n = min(chunk, t.count - start)
                    try handle.write(contentsOf: encode(t.pointer + start, count: n, dtype: dtype))
                    start += n
                }
            }
        }
    }

    private static func encode(_ p: UnsafeMutablePointer<Float>, count n: Int, dtype: SafetensorsDType) -> Data {
        if dtype == .bf16 {
            var out = Data(count: n * 2)
            out.withUnsafeMutableBytes { raw in
                for i in 0..<n { raw.storeBytes(of: floatToBF16(p[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            }
            return out
        }
        var out = Data(count: n * 4)
        out.withUnsafeMutableBytes { raw in
            for i in 0..<n { raw.storeBytes(of: p[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        return out
    }

    /// Hand-built JSON so key order (metadata first, then tensors in storage order) is stable.
    private static func headerJSON(_ tensors: [(name: String, tensor: Tensor)], dtype: SafetensorsDType,
                                   metadata: [String: String]) -> String {
        var parts: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for (name, t) in tensors {
            let bytes = t.count * dtype.size
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
