import ArgumentParser
import Foundation
import SiraIO
import SiraStore

/// `sira-pipeline verify PKG...`: checks `.sira` packages (structure, safety, SHA256SUMS, manifest)
/// and reports the first problem of each; exit status 1 when any fails.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check .sira packages: archive structure, SHA256SUMS of every file, the manifest's required keys.")

    @Argument(help: "Package files (.sira).") var packages: [String]
    @Flag(help: "Print JSON (one object per package).") var json = false

    func run() throws {
        var failed = 0
        var reports: [VerifyReport] = []
        for path in packages {
            if FileKind(path: path) != .regular {
                failed += 1
                let problem = "\(NotARegularFile(path: path, kind: FileKind(path: path))) (a .sira package is one file)"
                reports.append(VerifyReport(package: path, ok: false, problem: problem, contents: nil))
                if !json { FileHandle.standardError.write(Data("\(problem)\n".utf8)) }
                continue
            }
            do {
                let c = try SiraPackage.verify(URL(fileURLWithPath: path))
                reports.append(VerifyReport(package: path, ok: true, problem: nil, contents: .init(c)))
                if !json {
                    let adapters = c.manifest.adapters.keys.sorted().map { k in "\(k) (\(c.manifest.adapters[k]!.variant))" }
                    print("\(path): ok: \(c.manifest.kind.rawValue) \(adapters.joined(separator: ", ")), \(c.files.count) files, "
                          + String(format: "%.1f MB (%.1f MB compressed)", Double(c.decompressedBytes) / 1e6, Double(c.compressedBytes) / 1e6)
                          + ", base \(c.manifest.base.name), tool \(c.manifest.toolVersion), created \(c.manifest.createdAt)")
                }
            } catch var error as PackageError {
                // Named as the user typed it, like the ok lines.
                error.package = path
                failed += 1
                reports.append(VerifyReport(package: path, ok: false, problem: error.description, contents: nil))
                if !json { FileHandle.standardError.write(Data("\(error)\n".utf8)) }
            }
        }
        if json { try printJSON(reports) }
        if failed > 0 { throw ExitCode(1) }
    }
}

struct VerifyReport: Encodable {
    struct Contents: Encodable {
        var manifest: PackageManifest
        var files: [PackagedFile]
        var compressedBytes: Int64
        var decompressedBytes: Int64
        init(_ c: PackageContents) {
            manifest = c.manifest
            files = c.files
            compressedBytes = c.compressedBytes
            decompressedBytes = c.decompressedBytes
        }
    }
    var package: String
    var ok: Bool
    var problem: String?
    var contents: Contents?
}
