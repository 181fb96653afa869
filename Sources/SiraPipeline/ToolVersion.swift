/// The tool version. It is part of every stage's cache key, so bumping it invalidates caches.
public enum ToolVersion {
    public static let string = "0.1.0"
}
