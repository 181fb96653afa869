import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// Real inotify on temporary folders.
@Suite struct InboxWatcherTests {
    @Test func slowChunkedWriteIsReportedOnceAfterClose() throws {
        try withTemporaryFolder { inbox in
            let h = WatchHarness(inbox: inbox)
            try h.start()
            defer { h.stop() }
            let url = inbox.appendingPathComponent("slow.jsonl")
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            let handle = try FileHandle(forWritingTo: url)
            let chunk = String(repeating: "{\"text\": \"abc\"}\n", count: 64)
            for _ in 0 ..< 6 {
                try handle.write(contentsOf: Data(chunk.utf8))
                usleep(150_000) // pauses longer than the 0.1 s window
                #expect(h.complete.all.isEmpty, "reported while a writer still held it open")
            }
            try handle.close()
            #expect(h.complete.wait(timeout: 10) { $0.count == 1 })
            usleep(300_000)
            let got = h.complete.all
            #expect(got.count == 1)
            #expect(got.first?.path == url.path)
            #expect(got.first?.signature.size == Int64(chunk.utf8.count * 6))
        }
    }

    @Test func twoHundredFilesDroppedAtOnceAreEachReportedExactlyOnce() throws {
        try withTemporaryFolder { folder in
            let inbox = folder.appendingPathComponent("inbox"), staging = folder.appendingPathComponent("staging")
            try FileManager.default.createDirectory(at: inbox.appendingPathComponent("sentiment"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            let h = WatchHarness(inbox: inbox)
            try h.start()
            defer { h.stop() }
            var expected = Set<String>()
            for i in 0 ..< 200 {
                let name = "file-\(i).jsonl"
                if i % 2 == 0 { // half renamed in, half written in place
                    try drop("{\"text\": \"\(i)\"}\n", at: staging.appendingPathComponent(name))
                    let target = inbox.appendingPathComponent("sentiment/\(name)")
                    #expect(rename(staging.appendingPathComponent(name).path, target.path) == 0)
                    expected.insert(target.path)
                } else {
                    let target = inbox.appendingPathComponent(name)
                    try drop("{\"text\": \"\(i)\"}\n", at: target)
                    expected.insert(target.path)
                }
            }
            #expect(h.complete.wait(timeout: 10) { $0.count >= 200 })
            usleep(300_000)
            let got = h.paths
            #expect(got.count == 200)
            #expect(Set(got) == expected)
        }
    }

    @Test func fileDroppedWhileDownIsReportedAtStart() throws {
        try withTemporaryFolder { inbox in
            try FileManager.default.createDirectory(at: inbox.appendingPathComponent("dates"), withIntermediateDirectories: true)
            let early = inbox.appendingPathComponent("dates/dates.csv")
            try drop("question,answer\nq,a\n", at: early)
            let h = WatchHarness(inbox: inbox)
            try h.start()
            defer { h.stop() }
            #expect(h.complete.wait(timeout: 10) { $0.count == 1 })
            #expect(h.paths == [early.path])
        }
    }

    @Test func newFoldersAreWatchedAsTheyAppear() throws {
        try withTemporaryFolder { inbox in
            let h = WatchHarness(inbox: inbox)
            try h.start()
            defer { h.stop() }
            let nested = inbox.appendingPathComponent("newtask/deeper")
            try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
            let file = nested.appendingPathComponent("x.txt")
            try drop("hello\n", at: file)
            #expect(h.complete.wait(timeout: 10) { $0.count == 1 })
            #expect(h.paths == [file.path])
            #expect(h.watcher.watchedFolders.contains(nested.path))
        }
    }

    @Test func temporaryNameRenamedIntoPlaceIsReportedUnderItsFinalNameOnly() throws {
        try withTemporaryFolder { inbox in
            let h = WatchHarness(inbox: inbox)
            try h.start()
            defer { h.stop() }
            let tmp = inbox.appendingPathComponent(".reviews.jsonl.tmp-123"), final = inbox.appendingPathComponent("reviews.jsonl")
            try drop("{\"text\": \"a\"}\n", at: tmp)
            usleep(250_000)
            #expect(h.complete.all.isEmpty)
            #expect(rename(tmp.path, final.path) == 0)
            #expect(h.complete.wait(timeout: 10) { $0.count == 1 })
            #expect(h.paths == [final.path])
            #expect(h.events.all.contains(.movedIn(final.path)))
        }
    }

    @Test func changedFileIsReportedAgainUnchangedRescanIsNot() throws {
        try withTemporaryFolder { inbox in
            let h = WatchHarness(inbox: inbox)
            try h.start()
            defer { h.stop() }
            let file = inbox.appendingPathComponent("a.txt")
            try drop("one\n", at: file)
            #expect(h.complete.wait(timeout: 10) { $0.count == 1 })
            try drop("one\ntwo\n", at: file)
            #expect(h.complete.wait(timeout: 10) { $0.count == 2 })
            // a rescan sees the same signature: nothing new
            h.queue.sync { h.detector.handle(.discovered(file.path)) }
            usleep(300_000)
            #expect(h.complete.all.map(\.signature.size) == [4, 8])
        }
    }

    @Test func leaseProbeSeesAnOpenWriter() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("w.bin")
            _ = FileManager.default.createFile(atPath: url.path, contents: Data([1, 2, 3]))
            let handle = try FileHandle(forWritingTo: url)
            #expect(CompleteFileDetector.probeWriters(url.path) == .writing)
            try handle.close()
            #expect(CompleteFileDetector.probeWriters(url.path) == .none)
        }
    }

    @Test func fileStillOpenAtStartIsNotReportedUntilClosed() throws {
        try withTemporaryFolder { inbox in
            let url = inbox.appendingPathComponent("big.jsonl")
            _ = FileManager.default.createFile(atPath: url.path, contents: Data("{\"text\":".utf8))
            let handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
            let h = WatchHarness(inbox: inbox)
            try h.start()
            defer { h.stop() }
            usleep(400_000)
            #expect(h.complete.all.isEmpty)
            try handle.write(contentsOf: Data(" \"x\"}\n".utf8))
            try handle.close()
            #expect(h.complete.wait(timeout: 10) { $0.count == 1 })
            #expect(h.complete.all.first?.signature.size == 14)
        }
    }

    @Test func pollModeFindsFilesAndWaitsForWriters() throws {
        try withTemporaryFolder { inbox in
            let h = WatchHarness(inbox: inbox, mode: .poll(interval: 0.05))
            try h.start()
            defer { h.stop() }
            let done = inbox.appendingPathComponent("done.csv")
            try drop("a,b\n1,2\n", at: done)
            let open = inbox.appendingPathComponent("open.csv")
            _ = FileManager.default.createFile(atPath: open.path, contents: Data("a,b\n".utf8))
            let handle = try FileHandle(forWritingTo: open)
            #expect(h.complete.wait(timeout: 10) { $0.count == 1 })
            usleep(300_000)
            #expect(h.paths == [done.path])
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("3,4\n".utf8))
            try handle.close()
            #expect(h.complete.wait(timeout: 10) { $0.count == 2 })
            #expect(h.paths == [done.path, open.path])
        }
    }

    /// More events than the kernel queue holds while the watcher is busy: it overflows, rescans,
    /// and still reports every file exactly once.
    @Test func queueOverflowTriggersARescanThatMissesNothing() throws {
        let limit = Int((try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "16384") ?? 16384
        try #require(limit <= 65536, "max_queued_events is too large to overflow in a quick test")
        try withTemporaryFolder { inbox in
            let h = WatchHarness(inbox: inbox)
            try h.start()
            defer { h.stop() }
            let count = limit / 2 + 200 // each file: IN_CREATE + IN_CLOSE_WRITE
            let blocked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
            h.queue.async { blocked.signal(); release.wait() }
            blocked.wait()
            for i in 0 ..< count {
                let fd = open(inbox.path + "/f\(i).txt", O_CREAT | O_WRONLY, 0o644)
                _ = write(fd, "x", 1)
                close(fd)
            }
            release.signal()
            #expect(h.complete.wait(timeout: 20) { $0.count >= count })
            usleep(300_000)
            #expect(h.watcher.overflowCount >= 1)
            let got = h.paths
            #expect(got.count == count)
            #expect(Set(got).count == count)
        }
    }
}
