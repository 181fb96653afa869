import Foundation
import SiraIO
import Testing
@testable import SiraStore

/// Runs a tool (found on PATH) and returns its exit status and output. Tools missing on the
/// machine fail the test clearly rather than skipping it.
@discardableResult
func runTool(_ arguments: [String], in folder: URL? = nil, stdin: Data? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = arguments
    if let folder { p.currentDirectoryURL = folder }
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Deterministic pseudo-random fp32 weights, like a trained adapter's (high-entropy mantissas).
func fakeWeights(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    var out = [UInt8]()
    out.reserveCapacity(count * 4)
    for _ in 0 ..< count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let u = Float(Double(state >> 40) / Double(1 << 24)) - 0.5
        withUnsafeBytes(of: (u * 0.02).bitPattern.littleEndian) { out.append(contentsOf: $0) }
    }
    return out
}

/// Source files of a one-adapter package, and a manifest that matches them.
struct PackageFixture {
    var folder: URL
    var files: [PackageFile]
    var manifest: PackageManifest
    var contents: [String: [UInt8]]

    init(in folder: URL, weights: Int = 33 * 129 + 7, extraName: String? = nil) throws {
        self.folder = folder
        let src = folder.appendingPathComponent("src")
        let adapter = fakeWeights(count: weights, seed: 7)
        let tokenizer = Array(#"{"version":"1.0","model":{"type":"BPE","vocab":{"a":0,"b":1}}}"#.utf8)
        contents = ["adapter.safetensors": adapter, "tokenizer.json": tokenizer]
        if let extraName { contents[extraName] = Array("notes about run 1\n".utf8) }
        files = []
        for name in contents.keys.sorted() {
            let url = src.appendingPathComponent(name.replacingOccurrences(of: "/", with: "_"))
            try AtomicFile.write(contents[name]!, to: url)
            files.append(PackageFile(name: name, source: url))
        }
        manifest = PackageManifest(
            toolVersion: "0.1.0", createdAt: Date(timeIntervalSince1970: 1_700_000_000), pipeline: "demo", runID: 3,
            base: .init(name: "builtin-llama-4x256", sha256: String(repeating: "ab", count: 32),
                        config: .object(["hidden_size": .number(256)])),
            tokenizer: .init(sha256: ContentHash.sha256(tokenizer)),
            adapters: ["dates": .init(file: "adapter.safetensors", variant: "sira", tasks: ["dates"],
                                      config: .object(["r": .number(4), "num_experts": .number(8), "top_k": .number(2),
                                                       "target_modules": .array([.string("q_proj"), .string("v_proj")])]),
                                      metrics: ["exact_match": 0.75, "eval_loss": 0.4375, "router_entropy": .nan])])
    }
}

/// Compresses raw tar bytes with the zstd command line tool (an independent encoder).
func zstdCLI(_ tar: [UInt8], to url: URL) throws {
    let raw = url.appendingPathExtension("tar")
    try Data(tar).write(to: raw)
    let r = try runTool(["zstd", "-q", "-f", raw.path, "-o", url.path])
    #expect(r.status == 0, "zstd failed: \(r.err)")
    try FileManager.default.removeItem(at: raw)
}

/// Builds a tar with Python's tarfile from a small script body that adds members to `t`
/// (a `tarfile.TarFile` opened for writing), then compresses it with the zstd CLI.
func pythonTar(_ body: String, to url: URL, format: String = "PAX_FORMAT") throws {
    let script = """
    import io, sys, tarfile
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode='w', format=tarfile.\(format))
    def add(name, data, type=tarfile.REGTYPE, link=''):
        info = tarfile.TarInfo(name)
        info.type = type
        info.linkname = link
        info.size = len(data) if type == tarfile.REGTYPE else 0
        t.addfile(info, io.BytesIO(data) if type == tarfile.REGTYPE else None)
    \(body.split(separator: "\n").joined(separator: "\n"))
    t.close()
    sys.stdout.buffer.write(buf.getvalue())
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let bytes = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try #require(p.terminationStatus == 0, "python3 tarfile failed: \(String(decoding: e, as: UTF8.self))")
    try zstdCLI(Array(bytes), to: url)
}

/// The problem a package read failed with, or nil when it passed.
func verifyProblem(_ url: URL, limits: PackageLimits = .default) -> PackageError? {
    do {
        _ = try SiraPackage.verify(url, limits: limits)
        return nil
    } catch let e as PackageError {
        return e
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}
