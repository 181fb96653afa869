import CZstd

/// A libzstd failure, with libzstd's own words.
public struct ZstdError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { "zstd: \(message)" }

    static func check(_ code: Int) throws -> Int {
        if ZSTD_isError(code) != 0 { throw ZstdError(message: String(cString: ZSTD_getErrorName(code))) }
        return code
    }
}

/// Frame labels: a skippable frame (magic `0x184D2A5E`, ignored by every zstd decoder) holding
/// `sira-member:<name>`, written before the frame that holds that member. When a frame fails its
/// checksum, libzstd returns nothing of it, so the label is how the reader still names the member.
enum ZstdLabel {
    static let magic: UInt32 = 0x184D_2A5E
    static let prefix = Array("sira-member:".utf8)

    static func frame(_ name: String) -> [UInt8] {
        let content = prefix + Array(name.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: magic.littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(content.count).littleEndian) { out += $0 }
        return out + content
    }
}

/// Streaming compression (`ZSTD_compressStream2`) into a sink, as one or more frames (each with a
/// content checksum, so `zstd -t` and our reader detect corruption even where the tar has no hash).
/// Concatenated frames are one valid zstd stream to every decoder.
///
/// Why streaming: a package holds files of any size; memory stays at the window plus one output
/// buffer whatever the input.
final class ZstdWriter {
    private let context: OpaquePointer
    private var output: [UInt8]
    private let sink: (UnsafeRawBufferPointer) throws -> Void
    /// Compressed bytes handed to the sink so far.
    private(set) var bytesOut: Int64 = 0

    /// `level`: zstd level (1...19; 3 is zstd's default). `workers`: compression threads (0 = in
    /// the calling thread; ignored when libzstd was built without threads).
    init(level: Int32, workers: Int32 = 0, sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let context = ZSTD_createCCtx() else { throw ZstdError(message: "cannot allocate a compression context") }
        self.context = context
        self.sink = sink
        output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        _ = try ZstdError.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level))
        _ = try ZstdError.check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
        if workers > 0 { _ = ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, workers) }
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Writes a label frame; call between frames (before any `write` of the next frame).
    func label(_ name: String) throws {
        let frame = ZstdLabel.frame(name)
        try frame.withUnsafeBytes { try sink($0) }
        bytesOut += Int64(frame.count)
    }

    /// Compresses `bytes` (any size); output reaches the sink as buffers fill.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        while input.pos < input.size {
            _ = try drive(&input, ZSTD_e_continue)
        }
    }

    /// Ends the current frame and flushes it to the sink; a later `write` starts a new frame.
    func endFrame() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try drive(&input, ZSTD_e_end) != 0 {}
    }

    /// One `ZSTD_compressStream2` call; returns its "bytes left to flush" hint.
    private func drive(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
        let (remaining, produced) = try output.withUnsafeMutableBytes { out -> (Int, Int) in
            var buffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
            let r = try ZstdError.check(ZSTD_compressStream2(context, &buffer, &input, mode))
            return (r, buffer.pos)
        }
        if produced > 0 {
            try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[..<produced])) }
            bytesOut += Int64(produced)
        }
        return remaining
    }
}

/// Streaming decompression (`ZSTD_decompressStream`) of an in-memory (usually memory-mapped)
/// compressed stream, pulled in chunks. Accepts concatenated frames and skippable frames (reading
/// our labels); refuses a truncated frame. Each call works inside one frame, so `frameLabel`
/// names the member a failing frame holds. The window is limited to 2^27 bytes (zstd's default),
/// so a crafted frame cannot demand gigabytes of memory.
final class ZstdReader {
    private let context: OpaquePointer
    private let base: UnsafeRawPointer?
    private let total: Int
    /// `size` is the end of the current frame (or of everything, when its end is unknown).
    private var input: ZSTD_inBuffer
    /// Inside a frame: libzstd's last hint was non-zero.
    private var frameOpen = false
    /// The label of the frame being decoded, when our writer made it.
    private(set) var frameLabel: String?

    /// `compressed` must outlive the reader. `ignoreChecksum` (`ZSTD_d_forceIgnoreChecksum`) is
    /// for diagnosis only: a second pass over a stream that failed its checksum, to find which
    /// member's bytes changed.
    init(_ compressed: UnsafeRawBufferPointer, ignoreChecksum: Bool = false) throws {
        guard let context = ZSTD_createDCtx() else { throw ZstdError(message: "cannot allocate a decompression context") }
        self.context = context
        base = UnsafeRawPointer(compressed.baseAddress)
        total = compressed.count
        input = ZSTD_inBuffer(src: base, size: total, pos: 0)
        _ = try ZstdError.check(ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 27))
        if ignoreChecksum {
            // ZSTD_d_forceIgnoreChecksum (experimental, hence its placeholder name in zstd.h).
            _ = try ZstdError.check(ZSTD_DCtx_setParameter(context, ZSTD_d_experimentalParam3, 1))
        }
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Fills up to `buffer.count` bytes; returns how many, 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        precondition(buffer.count > 0)
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while out.pos == 0 {
            if !frameOpen {
                frameLabel = nil
                readSkippableFrames()
                if input.pos == total { return 0 }
                let size = ZSTD_findFrameCompressedSize(base! + input.pos, total - input.pos)
                input.size = ZSTD_isError(size) != 0 ? total : input.pos + size
            }
            let exhausted = input.pos == input.size
            let hint = try ZstdError.check(ZSTD_decompressStream(context, &out, &input))
            frameOpen = hint != 0
            // Out of input, nothing left to flush, frame not ended: the stream was cut short.
            if exhausted && out.pos == 0 && frameOpen {
                throw ZstdError(message: "truncated stream (the last frame is incomplete)")
            }
        }
        return out.pos
    }

    /// Steps over skippable frames at the current position, keeping the last label seen.
    private func readSkippableFrames() {
        while total - input.pos >= 8 {
            let p = base! + input.pos
            let magic = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
            guard magic & 0xFFFF_FFF0 == 0x184D_2A50 else { return }
            let size = Int(UInt32(littleEndian: (p + 4).loadUnaligned(as: UInt32.self)))
            guard size <= total - input.pos - 8 else { return } // let libzstd report the damage
            let content = UnsafeRawBufferPointer(start: p + 8, count: size)
            if magic == ZstdLabel.magic, content.starts(with: ZstdLabel.prefix) {
                frameLabel = String(decoding: content.dropFirst(ZstdLabel.prefix.count), as: UTF8.self)
            }
            input.pos += 8 + size
        }
    }
}
