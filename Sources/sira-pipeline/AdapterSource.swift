import Foundation
import SiraIO
import SiraModel
import SiraPipeline
import SiraStages

/// The `--adapter` of `score` and `generate`: an adapter file written by training, a PEFT LoRA
/// folder, or a `.sira` package (verified and extracted through SiraStore; for a bundle, `--task`
/// picks the adapter chosen for that task). A package must name the `--model` base: the same tensors
/// and configuration (`BaseIdentity`), whatever files hold them.
enum AdapterSource {
    /// Attaches the adapter and returns a line describing what was attached (for stderr).
    @discardableResult
    static func attach(_ path: String, task: String?, to model: LlamaModel, modelFolder: URL, allowOtherBase: Bool) throws -> String {
        let url = URL(fileURLWithPath: path)
        if url.pathExtension == "sira" {
            do { try RegularFile.require(path) } catch { throw CommandError("\(error) (a .sira package is one file)") }
        }
        guard isPackage(url) else {
            if task != nil { throw CommandError("--task applies to a .sira package; \(path) is an adapter file or folder") }
            try AdapterFiles.attach(from: url, to: model)
            return path
        }
        let package: OpenedPackage
        do { package = try OpenedPackage(url) } catch {
            throw CommandError("\(error)")
        }
        defer { package.close() }
        let base = package.manifest.base
        if !allowOtherBase {
            do { try BaseIdentity.check(model: model, source: modelFolder, expected: base.sha256, baseName: base.name) } catch {
                throw CommandError("\(error) (--allow-other-base to use it anyway)")
            }
        }
        let name = try package.adapterName(task: task)
        try package.attach(name, to: model)
        let entry = package.manifest.adapters[name]!
        return "\(url.lastPathComponent): adapter \(name) (\(entry.variant), tasks \(entry.tasks.joined(separator: ", ")))"
    }

    /// A `.sira` file, or any file starting with a zstd frame (packages may be renamed).
    static func isPackage(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { return false }
        if url.pathExtension == "sira" { return true }
        guard let handle = try? FileHandle(forReadingFrom: url), let head = try? handle.read(upToCount: 4), head.count == 4 else { return false }
        try? handle.close()
        let magic = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
        return magic == 0xFD2F_B528 || (magic & 0xFFFF_FFF0) == 0x184D_2A50
    }
}
