import Dispatch
import Foundation

/// How many threads the multi-threaded kernels use when a call does not say.
///
/// Default: every active processor. The CLI sets it once from `--threads`; reads and writes are
/// serialised by a lock so any thread may read it while a kernel starts.
public enum KernelThreads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var stored = ProcessInfo.processInfo.activeProcessorCount

    /// Always at least 1; setting a value below 1 stores 1.
    public static var count: Int {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = max(1, newValue); lock.unlock() }
    }

    /// The thread count a call asked for, or the default, clamped to at least 1.
    static func resolve(_ requested: Int?) -> Int { max(1, requested ?? count) }
}

/// Runs `body(i)` for `i` in `0..<iterations` on up to `threads` threads; inline when one is enough.
/// `body` must be safe to run concurrently for distinct `i`.
@inline(__always)
func parallelFor(_ iterations: Int, threads: Int, _ body: (Int) -> Void) {
    if iterations <= 0 { return }
    if threads <= 1 || iterations == 1 {
        for i in 0..<iterations { body(i) }
    } else {
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: iterations) { shared.value($0) }
        }
    }
}

/// Carries raw pointers and closures into `DispatchQueue.concurrentPerform`. The kernels guarantee
/// that concurrent iterations write disjoint memory.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body(task, worker)` for every `task` in `0..<tasks` on `threads` workers that each take
/// the next unclaimed task until none is left. Balances itself when a worker is slowed (another
/// process preempting it, an expert with more rows); `worker` (in `0..<threads`) indexes
/// per-worker scratch. Inline on the caller when `threads <= 1`.
func dynamicFor(_ tasks: Int, threads: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
    if tasks <= 0 { return }
    let workers = min(threads, tasks)
    if workers <= 1 {
        for t in 0..<tasks { body(t, 0) }
        return
    }
    let counter = TaskCounter()
    parallelFor(workers, threads: workers) { worker in
        while true {
            let t = counter.next()
            if t >= tasks { return }
            body(t, worker)
        }
    }
}

/// A shared "next task" index.
final class TaskCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}
