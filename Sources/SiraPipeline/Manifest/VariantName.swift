/// The name of one trained replica of an adapter variant. The comparison protocol trains every
/// variant under several seeds; each replica is its own variant in the stage graph, named
/// `<variant>~s<seed>` (`sira~s1`). `~` cannot appear in a manifest name, so the split is
/// unambiguous; the name stays a single shell word and a valid file name.
public struct VariantName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The variant as the manifest names it (`sira`, `lora-wide`, `base`).
    public var variant: String
    /// The training seed of this replica; nil for a variant trained once.
    public var seed: Int?

    public static let seedMarker = "~s"

    public init(variant: String, seed: Int? = nil) {
        self.variant = variant
        self.seed = seed
    }

    /// Splits `sira~s1` into (`sira`, 1); anything without a well-formed suffix is a plain variant.
    public init(parsing name: String) {
        if let range = name.range(of: Self.seedMarker, options: .backwards),
           let seed = Int(name[range.upperBound...]), seed >= 0, range.lowerBound > name.startIndex {
            self.init(variant: String(name[..<range.lowerBound]), seed: seed)
        } else {
            self.init(variant: name)
        }
    }

    public var description: String { seed.map { "\(variant)\(Self.seedMarker)\($0)" } ?? variant }

    public static func < (a: VariantName, b: VariantName) -> Bool {
        (a.variant, a.seed ?? -1) < (b.variant, b.seed ?? -1)
    }
}
