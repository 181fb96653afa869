import Foundation

/// Refreshes a run's heartbeat on a timer of its own, independent of how busy the stages keep
/// the CPU, so the run of a process that died stops beating and shows as `crashed`.
public final class Heartbeat: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private let queue = DispatchQueue(label: "sira-pipeline.heartbeat")

    public init(interval: Double, beat: @escaping @Sendable () -> Void) {
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        timer.setEventHandler(handler: beat)
        timer.resume()
    }

    public func stop() {
        timer.cancel()
        queue.sync {}
    }

    deinit { timer.cancel() }
}
