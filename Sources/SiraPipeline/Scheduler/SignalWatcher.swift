#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Turns SIGINT and SIGTERM into a clean stop: the first signal calls `onStop` (the scheduler
/// lets running stages save their state and marks the run `cancelled`); a second one exits at
/// once (status 130), leaving the run to be marked `crashed` and resumed by the next start.
public final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "sira-pipeline.signals")
    private let lock = NSLock()
    private var received = 0

    public init(signals: [Int32] = [SIGINT, SIGTERM], onStop: @escaping @Sendable (Int32) -> Void) {
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                self.received += 1
                let count = self.received
                self.lock.unlock()
                if count > 1 { exit(130) }
                onStop(sig)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Restores default signal handling.
    public func stop() {
        for s in sources { s.cancel() }
        sources = []
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    deinit { for s in sources { s.cancel() } }
}
