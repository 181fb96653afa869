import Dispatch

/// Runs independent work units on up to `threads` threads (inline for one thread or one unit).
/// Units must write disjoint memory. Which thread runs which unit does not change any result.
enum LlamaParallel {
    static func forEach(_ units: Int, threads: Int, _ body: (Int) -> Void) {
        if units <= 0 { return }
        if threads <= 1 || units == 1 {
            for i in 0..<units { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: units) { shared.value($0) }
        }
    }

    /// Splits `0..<count` into at most `threads` contiguous ranges and runs them in parallel.
    static func ranges(_ count: Int, threads: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(threads, count / max(1, minimumPerThread)))
        let per = (count + parts - 1) / parts
        forEach(parts, threads: parts) { i in
            let lo = i * per, hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Carries a closure or raw pointers into `DispatchQueue.concurrentPerform`; the callers
/// guarantee concurrent units touch disjoint memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
