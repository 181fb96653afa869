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
