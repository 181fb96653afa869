import SiraIO
import SiraKernels

extension GGUFFile {
    /// The tensor's values as fp32 into `destination` (`tensor.elementCount` floats), whatever its
    /// stored type: the one place a ggml type meets its dequantisation kernel.
    public func dequantize(_ tensor: GGUFTensorInfo, into destination: UnsafeMutablePointer<Float>) throws {
        guard let type = GGMLType(rawValue: tensor.type) else {
            throw GGUFError(url.path, "tensor \(tensor.name): unknown ggml type \(tensor.type)")
        }
        let src = bytes(of: tensor).baseAddress!
        let n = tensor.elementCount
        let blocks = n / type.blockElements
        switch type {
        case .f32: Dequantize.f32(src, count: n, into: destination)
        case .f16: Dequantize.f16(src, count: n, into: destination)
        case .bf16: Dequantize.bf16(src, count: n, into: destination)
        case .q4_0: Dequantize.q4_0(src, blocks: blocks, into: destination)
        case .q4_1: Dequantize.q4_1(src, blocks: blocks, into: destination)
        case .q5_0: Dequantize.q5_0(src, blocks: blocks, into: destination)
        case .q5_1: Dequantize.q5_1(src, blocks: blocks, into: destination)
        case .q8_0: Dequantize.q8_0(src, blocks: blocks, into: destination)
        case .q2_K: Dequantize.q2_K(src, blocks: blocks, into: destination)
        case .q3_K: Dequantize.q3_K(src, blocks: blocks, into: destination)
        case .q4_K: Dequantize.q4_K(src, blocks: blocks, into: destination)
        case .q5_K: Dequantize.q5_K(src, blocks: blocks, into: destination)
        case .q6_K: Dequantize.q6_K(src, blocks: blocks, into: destination)
        case .q8_1, .q8_K, .i8, .i16, .i32, .i64, .f64:
            throw GGUFError(url.path, "tensor \(tensor.name): type \(type) cannot be read as weights (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K–Q6_K can)")
        }
    }

    /// The tensor as a new fp32 array.
    public func floats(_ tensor: GGUFTensorInfo) throws -> [Float] {
        var out = [Float](repeating: 0, count: tensor.elementCount)
        try out.withUnsafeMutableBufferPointer { try dequantize(tensor, into: $0.baseAddress!) }
        return out
    }
}
