/// One tensor of a GGUF file as its header describes it.
///
/// `dimensions` are in GGUF order, innermost (contiguous) first: a PyTorch `[out, in]` weight is
/// `[in, out]` here. `type` is the raw ggml type id (see `GGMLType` in SiraKernels for layouts);
/// `offset` is relative to the start of the data section and `byteCount` is the stored size,
/// both checked against the file when it is opened.
public struct GGUFTensorInfo: Sendable, Equatable {
    public var name: String
    public var dimensions: [Int]
    public var type: UInt32
    public var offset: Int
    public var byteCount: Int

    /// Number of elements (product of the dimensions).
    public var elementCount: Int { dimensions.reduce(1, *) }
    /// The shape in PyTorch order (outermost first).
    public var shape: [Int] { dimensions.reversed() }
}
