/// Why a GGUF file cannot be read: always names the file and, where there is one, the tensor or key.
public struct GGUFError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var what: String

    public init(_ path: String, _ what: String) {
        self.path = path
        self.what = what
    }

    public var description: String { "\(path): \(what)" }
}
