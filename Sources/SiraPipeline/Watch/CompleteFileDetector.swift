#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation

/// A file the detector judged complete: safe to hash and ingest.
public struct CompleteFile: Sendable, Hashable {
    public let path: String
    public let signature: FileSignature
}

/// Decides when a file in the inbox is complete, from the watcher's events.
///
/// Rule: a file is complete when there is evidence its writer is done AND its size, mtime and inode
/// then stay unchanged for `window`:
/// - evidence is a close-after-write (`IN_CLOSE_WRITE`) or a rename into the inbox (`IN_MOVED_TO`);
/// - for a file known only from a scan or `IN_CREATE` (start-up, poll mode, hard links), evidence is
///   that no process has it open for writing, asked of the kernel with a read lease
///   (`fcntl(F_SETLEASE, F_RDLCK)` fails with `EAGAIN` while a writer holds it open). Where leases
///   are unavailable (network filesystems, files owned by another user), the file must instead stay
///   unchanged for the longer `unprovenWindow`.
/// A file still open for writing is therefore never reported, however long its writer pauses; a
/// writer that closes and later reopens the file to append makes a new version, reported again
/// once stable (content hashing downstream decides whether anything changed).
///
/// Each (path, signature) is reported once: rescans and repeated events for an unchanged file are
/// ignored. Confined to `queue`: call `handle` there (the watcher's handler runs there).
public final class CompleteFileDetector: @unchecked Sendable {
    public let window: TimeInterval
    public let unprovenWindow: TimeInterval
    private let queue: DispatchQueue
    private let onComplete: @Sendable (CompleteFile) -> Void

    private enum Evidence { case writerDone, unknown }
    private struct Pending {
        var evidence: Evidence
        var signature: FileSignature
        var since: UInt64 // when `signature` was first seen, uptime ns
        var checkAt: UInt64
    }

    private var pending: [String: Pending] = [:]
    private var reported: [String: FileSignature] = [:]
    private var timer: DispatchSourceTimer?
    private var timerDeadline: UInt64 = .max

    /// Files waiting to be judged (for tests and status).
    public var pendingCount: Int { pending.count }

    public init(window: TimeInterval = 0.2, unprovenWindow: TimeInterval = 2.0, queue: DispatchQueue,
                onComplete: @escaping @Sendable (CompleteFile) -> Void) {
        self.window = window
        self.unprovenWindow = max(unprovenWindow, window)
        self.queue = queue
        self.onComplete = onComplete
        // Holding a lease makes the kernel signal us (SIGIO) when a writer opens the file; the
        // default action of SIGIO ends the process. We hold leases for microseconds and need no
        // signal, so ignore it.
        signal(SIGIO, SIG_IGN)
    }

    deinit { timer?.cancel() }

    /// Feeds one watcher event. Must be called on `queue`.
    public func handle(_ event: InboxEvent) {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = DispatchTime.now().uptimeNanoseconds
        switch event {
        case let .closedWrite(path), let .movedIn(path):
            track(path, evidence: .writerDone, now: now)
        case let .created(path), let .discovered(path):
            if pending[path]?.evidence == .writerDone { return }
            track(path, evidence: .unknown, now: now)
        case let .removed(path):
            pending.removeValue(forKey: path)
            reported.removeValue(forKey: path)
        case .rescanned:
            return
        }
        armTimer(event.path.flatMap { pending[$0]?.checkAt })
    }

    /// Forgets that a path was reported, so an identical file at that path is reported again
    /// (after the daemon failed to process it, for instance).
    public func forget(_ path: String) {
        dispatchPrecondition(condition: .onQueue(queue))
        reported.removeValue(forKey: path)
    }

    private func track(_ path: String, evidence: Evidence, now: UInt64) {
        guard let signature = FileSignature(path: path) else {
            pending.removeValue(forKey: path)
            return
        }
        if reported[path] == signature { return }
        let keepSince = pending[path]?.signature == signature ? pending[path]!.since : now
        pending[path] = Pending(evidence: evidence, signature: signature, since: keepSince,
                                checkAt: now + Self.ns(window))
    }

    private func check() {
        timerDeadline = .max
        let now = DispatchTime.now().uptimeNanoseconds
        var done: [CompleteFile] = []
        for (path, entry) in pending where entry.checkAt <= now {
            guard let current = FileSignature(path: path) else {
                pending.removeValue(forKey: path)
                continue
            }
            if current != entry.signature {
                // Written again after the close or rename: that evidence is stale.
                pending[path] = Pending(evidence: .unknown, signature: current, since: now, checkAt: now + Self.ns(window))
                continue
            }
            // Even after a close, another writer may have the file open: ask the kernel every time.
            let complete: Bool
            switch (Self.probeWriters(path), entry.evidence) {
            case (.writing, _): complete = false
            case (.none, _), (.unknown, .writerDone): complete = true
            case (.unknown, .unknown): complete = now - entry.since >= Self.ns(unprovenWindow)
            }
            if complete {
                pending.removeValue(forKey: path)
                reported[path] = current
                done.append(CompleteFile(path: path, signature: current))
            } else {
                pending[path]!.checkAt = now + Self.ns(max(window, 0.25))
            }
        }
        armTimer(pending.values.map(\.checkAt).min())
        for file in done.sorted(by: { $0.path < $1.path }) { onComplete(file) }
    }

    /// Makes the timer fire no later than `deadline` (uptime ns). O(1): events arrive by the
    /// thousand after an overflow, so the earliest deadline is only recomputed after a check.
    private func armTimer(_ deadline: UInt64?) {
        guard let deadline, deadline < timerDeadline else { return }
        timerDeadline = deadline
        if timer == nil {
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.setEventHandler { [weak self] in self?.check() }
            timer = t
            t.schedule(deadline: DispatchTime(uptimeNanoseconds: deadline), leeway: .milliseconds(5))
            t.resume()
        } else {
            timer!.schedule(deadline: DispatchTime(uptimeNanoseconds: deadline), leeway: .milliseconds(5))
        }
    }

    static func ns(_ seconds: TimeInterval) -> UInt64 { UInt64(max(seconds, 0) * 1e9) }

    // MARK: writers

    public enum WriterProbe: Sendable, Equatable {
        /// No process has the file open for writing.
        case none
        /// Some process has it open for writing.
        case writing
        /// Cannot tell (leases unsupported here, or the file belongs to another user).
        case unknown
    }

    /// Asks the kernel whether any process holds `path` open for writing, by taking and at once
    /// releasing a read lease (Linux `F_SETLEASE`; refused with `EAGAIN` while a writer exists).
    public static func probeWriters(_ path: String) -> WriterProbe {
        #if os(Linux)
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .unknown }
        defer { close(fd) }
        let setLease: Int32 = 1024 // F_SETLEASE (F_LINUX_SPECIFIC_BASE + 0), hidden behind _GNU_SOURCE
        if fcntl(fd, setLease, Int32(F_RDLCK)) == 0 {
            _ = fcntl(fd, setLease, Int32(F_UNLCK))
            return .none
        }
        return errno == EAGAIN || errno == EBUSY ? .writing : .unknown
        #else
        return .unknown
        #endif
    }
}
