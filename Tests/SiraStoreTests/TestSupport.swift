import Foundation
@testable import SiraStore

/// A fresh folder under the system temporary directory; the caller removes it.
func scratchFolder(_ label: String = "sirastore") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A store in a fresh folder, with that folder for cleanup.
func scratchStore(busyTimeout: TimeInterval = 30) throws -> (RunStore, URL) {
    let dir = try scratchFolder("runstore")
    let store = try RunStore(workspace: dir, busyTimeout: busyTimeout)
    return (store, dir)
}

/// A fixed instant so durations are hand-computable.
let t0 = Date(timeIntervalSince1970: 1_700_000_000)
