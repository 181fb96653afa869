#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// How many bytes removing some folders really frees. Checkpoint packages are hard links to files
/// in `data/cache`, so summing file sizes would count a package twice, or count one whose other
/// link stays: a file's bytes are freed only when every one of its links is among the removed.
public enum FreedBytes {
    public static func removing(_ folders: [URL]) -> Int64 {
        struct Inode: Hashable { var device: UInt64; var number: UInt64 }
        var seen: [Inode: (size: Int64, links: Int, found: Int)] = [:]
        var visitedPaths = Set<String>()
        for folder in folders {
            guard let items = FileManager.default.enumerator(atPath: folder.path) else { continue }
            for case let item as String in items {
                let path = folder.appendingPathComponent(item).standardizedFileURL.path
                guard visitedPaths.insert(path).inserted else { continue }  // nested or repeated folders
                var st = stat()
                guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                let key = Inode(device: UInt64(st.st_dev), number: UInt64(st.st_ino))
                var entry = seen[key] ?? (Int64(st.st_size), Int(st.st_nlink), 0)
                entry.found += 1
                seen[key] = entry
            }
        }
        return seen.values.reduce(0) { $0 + ($1.found >= $1.links ? $1.size : 0) }
    }
}
