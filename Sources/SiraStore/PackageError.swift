/// What is wrong with a package or archive. Each case says it in words a user can act on.
public enum PackageProblem: Equatable, Sendable, CustomStringConvertible {
    case absolutePath
    case parentComponent
    case unsafeName
    /// A symbolic or hard link (to `target`).
    case link(target: String)
    /// A device, fifo or unknown entry type (the tar type flag character).
    case notRegular(type: String)
    case duplicate
    /// Decompressed content beyond the bound (bytes).
    case tooLarge(limit: Int64)
    case tooManyEntries(limit: Int)
    case corruptHeader(String)
    case truncated
    case trailingData
    case zstd(String)
    case missingFile
    case notListed
    case checksumMismatch(expected: String, actual: String)
    case badChecksumLine(line: Int, text: String)
    case manifest(String)
    case io(String)

    public var description: String {
        switch self {
        case .absolutePath: return "absolute path refused"
        case .parentComponent: return "path with a '..' component refused"
        case .unsafeName: return "empty name or control characters refused"
        case let .link(target): return "link (to '\(target)') refused: a package holds regular files only"
        case let .notRegular(type): return "entry of tar type '\(type)' refused: a package holds regular files only"
        case .duplicate: return "appears twice (or clashes with another entry's folder)"
        case let .tooLarge(limit): return "decompressed content exceeds the bound of \(limit) bytes"
        case let .tooManyEntries(limit): return "more than \(limit) entries"
        case let .corruptHeader(why): return "corrupt tar header: \(why)"
        case .truncated: return "archive is truncated (no end-of-archive marker)"
        case .trailingData: return "non-zero data after the end-of-archive marker"
        case let .zstd(why): return "archive data is corrupt: zstd: \(why)"
        case .missingFile: return "missing"
        case .notListed: return "not listed in SHA256SUMS"
        case let .checksumMismatch(expected, actual):
            return "sha256 mismatch: SHA256SUMS says \(expected), content is \(actual)"
        case let .badChecksumLine(line, text): return "line \(line): not '<sha256>  <name>': \(text)"
        case let .manifest(why): return why
        case let .io(why): return why
        }
    }
}

/// A package or archive failure: the package path, the entry concerned (when there is one), and
/// the problem. `description` reads `pkg.sira: adapter.safetensors: sha256 mismatch: ...`.
public struct PackageError: Error, Equatable, Sendable, CustomStringConvertible {
    public var package: String
    public var entry: String?
    public var problem: PackageProblem

    public init(package: String, entry: String?, problem: PackageProblem) {
        self.package = package
        self.entry = entry
        self.problem = problem
    }

    public var description: String {
        if let entry { return "\(package): \(printable(entry)): \(problem)" }
        return "\(package): \(problem)"
    }

    private func printable(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
    }
}

/// Thrown inside the archive layer before the package path is known.
struct EntryFailure: Error {
    var entry: String?
    var problem: PackageProblem
}
