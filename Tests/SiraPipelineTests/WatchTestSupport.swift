import Foundation
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// A fresh folder under the system temporary folder, removed afterwards.
func withTemporaryFolder<T>(_ body: (URL) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sira-watch-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Thread-safe list of what callbacks reported.
final class Collected<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []

    func add(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    var all: [T] { lock.lock(); defer { lock.unlock() }; return items }

    /// Waits until `condition` holds on the items or `timeout` passes; returns whether it held.
    @discardableResult
    func wait(timeout: TimeInterval, until condition: ([T]) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition(all) { return true }
            usleep(5_000)
        }
        return condition(all)
    }
}

/// A watcher feeding a detector on one queue, reporting complete files.
final class WatchHarness: @unchecked Sendable {
    let queue = DispatchQueue(label: "test.watch")
    let events = Collected<InboxEvent>()
    let complete = Collected<CompleteFile>()
    var watcher: InboxWatcher!
    var detector: CompleteFileDetector!

    init(inbox: URL, mode: InboxWatcher.Mode = .inotify, window: TimeInterval = 0.1, unprovenWindow: TimeInterval = 1.0) {
        let complete = self.complete, events = self.events
        detector = CompleteFileDetector(window: window, unprovenWindow: unprovenWindow, queue: queue) { complete.add($0) }
        let detector = self.detector!
        watcher = InboxWatcher(root: inbox, mode: mode, queue: queue) { event in
            events.add(event)
            detector.handle(event)
        }
    }

    func start() throws { try watcher.start() }
    func stop() { watcher.stop() }
    var paths: [String] { complete.all.map(\.path) }
}

/// Writes `bytes` to `url` the way a finished file arrives (create, write, close).
func drop(_ text: String, at url: URL) throws {
    try Data(text.utf8).write(to: url)
}
