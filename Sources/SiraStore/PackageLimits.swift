/// Bounds on what reading an archive may cost (DESIGN.md §8): a crafted package (a decompression
/// bomb, millions of entries) is refused before it fills a disk or memory.
public struct PackageLimits: Sendable, Equatable {
    /// Absolute cap on decompressed bytes (headers, data, padding).
    public var maxTotalBytes: Int64
    /// Cap on the expansion ratio, applied above `ratioFloorBytes`: a package may always expand to
    /// the floor, and beyond it only to `maxRatio` times its compressed size. Real adapters
    /// compress by less than 2x; 1000x is only reached by deliberate bombs.
    public var maxRatio: Int64
    public var ratioFloorBytes: Int64
    public var maxEntries: Int

    public init(maxTotalBytes: Int64 = 64 << 30, maxRatio: Int64 = 1000, ratioFloorBytes: Int64 = 256 << 20,
                maxEntries: Int = 10_000) {
        self.maxTotalBytes = maxTotalBytes
        self.maxRatio = maxRatio
        self.ratioFloorBytes = ratioFloorBytes
        self.maxEntries = maxEntries
    }

    public static let `default` = PackageLimits()

    /// The decompressed-byte bound for an archive of `compressedBytes`.
    public func bound(compressedBytes: Int) -> Int64 {
        let (scaled, overflow) = Int64(compressedBytes).multipliedReportingOverflow(by: maxRatio)
        return min(maxTotalBytes, max(ratioFloorBytes, overflow ? .max : scaled))
    }
}
