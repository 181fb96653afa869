import Foundation
import SiraIO
import SiraStore
import Testing
@testable import SiraPipeline

/// Issue 16, item 9: a full disk is said with the path and the space left, and a run that meets
/// one is recorded as failed, not crashed.
@Suite struct DiskSpaceTests {
    /// The kernel's /dev/full answers every write with ENOSPC: the error is recognised as a full
    /// disk and described with the path and the free space.
    @Test func writingToAFullDeviceIsRecognisedAndNamed() throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
        defer { try? handle.close() }
        var caught: (any Error)?
        do { try handle.write(contentsOf: Data(repeating: 1, count: 1 << 16)); try handle.synchronize() } catch { caught = error }
        let error = try #require(caught)
        #expect(DiskSpace.isFull(error), "\(error)")
        let named = DiskFullError(path: "/tmp/x/model.safetensors")
        #expect(named.description.hasPrefix("/tmp/x/model.safetensors: the disk is full (") && named.description.contains("MB free"))
        #expect(!DiskSpace.isFull(CocoaError(.fileNoSuchFile)))
    }

    /// Below the free-space reserve (raised here past any disk through SIRA_MIN_FREE_MB) no stage
    /// starts: the first fails saying the space and the folder, and the run is recorded `failed`.
    @Test func belowTheReserveTheRunFailsSayingTheFreeSpace() throws {
        let p = try TinyPipeline(variants: "lora: {r: 2}")
        let run = try ChildProcess(TinyPipeline.binary, ["run", p.manifestPath], in: p.root,
                                   environment: ["SIRA_MIN_FREE_MB": "1000000000000"]).wait()
        #expect(run.status != 0)
        let all = run.stdout + run.stderr
        #expect(all.contains("MB free on the file system of data/cache/") && all.contains("a stage needs at least"), "\(all)")
        let store = try RunStore(path: p.workspace.databaseURL.path)
        #expect(try store.runs().first?.status == .failed)
    }
}
