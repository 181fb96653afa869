import Foundation
import SiraIO

/// Everything a running stage may touch. Created per attempt by `StageRunner`.
public final class StageContext: @unchecked Sendable {
    public let id: StageID
    public let runID: Int64
    public let attempt: Int
    public let key: String
    public let workspace: Workspace
    /// Outputs of the stages this one depends on.
    public let inputs: [StageID: StageOutput]
    /// A fresh temporary folder; whatever is in it when `run` returns is published.
    public let outputFolder: URL
    /// Survives failed attempts, cancellations and crashes for the same key: resumable state.
    /// Removed once the output is published.
    public let workFolder: URL
    /// Compute threads this stage should use: the machine's cores shared by the stages that may
    /// run at once (`jobs`).
    public let threads: Int
    let logHandle: FileHandle?
    let cancellation: CancellationFlag
    let events: @Sendable (PipelineEvent) -> Void
    private let lock = NSLock()
    private var pendingMetrics: [MetricSample] = []
    private var lastFlush = Date()
    let flushMetrics: @Sendable ([MetricSample]) -> Void

    init(id: StageID, runID: Int64, attempt: Int, key: String, workspace: Workspace, inputs: [StageID: StageOutput],
         outputFolder: URL, workFolder: URL, threads: Int, logHandle: FileHandle?, cancellation: CancellationFlag,
         events: @escaping @Sendable (PipelineEvent) -> Void, flushMetrics: @escaping @Sendable ([MetricSample]) -> Void) {
        self.id = id
        self.runID = runID
        self.attempt = attempt
        self.key = key
        self.workspace = workspace
        self.inputs = inputs
        self.outputFolder = outputFolder
        self.workFolder = workFolder
        self.threads = threads
        self.logHandle = logHandle
        self.cancellation = cancellation
        self.events = events
        self.flushMetrics = flushMetrics
    }

    /// The output of dependency `id`; a stage asking for something it does not depend on is a
    /// programming error in the graph.
    public func input(_ id: StageID) throws -> StageOutput {
        guard let out = inputs[id] else { throw StageFailure("\(self.id) has no input \(id)") }
        return out
    }

    public var isCancelled: Bool { cancellation.isSet }

    /// Throws `StageCancelled` when the run is being stopped.
    public func checkCancelled() throws {
        if cancellation.isSet { throw StageCancelled() }
    }

    /// A line in the stage's log file (timestamped).
    public func log(_ message: String) {
        let line = "\(Timestamp.now()) \(message)\n"
        lock.lock()
        defer { lock.unlock() }
        try? logHandle?.write(contentsOf: Data(line.utf8))
    }

    /// Live progress for the display (step of total, loss, tokens/s). Also records `loss` as a
    /// metric series point when given.
    public func progress(step: Int, of total: Int, loss: Double? = nil, tokensPerSecond: Double? = nil, note: String? = nil) {
        events(.progress(StageProgress(stage: id, step: step, total: total, loss: loss, tokensPerSecond: tokensPerSecond, note: note)))
        if let loss { metric("train.loss", loss, step: step) }
    }

    /// A metric point of a series (loss per step); buffered and written about once a second.
    public func metric(_ key: String, _ value: Double, step: Int? = nil) {
        lock.lock()
        pendingMetrics.append(MetricSample(key: key, value: value, step: step, time: Date()))
        let due = Date().timeIntervalSince(lastFlush) >= 1
        let batch = due ? pendingMetrics : []
        if due {
            pendingMetrics = []
            lastFlush = Date()
        }
        lock.unlock()
        if !batch.isEmpty { flushMetrics(batch) }
    }

    func flush() {
        lock.lock()
        let batch = pendingMetrics
        pendingMetrics = []
        lock.unlock()
        if !batch.isEmpty { flushMetrics(batch) }
    }
}

/// A stage failure with a message for the user (the log has the details).
public struct StageFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One metric value at a time (and training step).
public struct MetricSample: Sendable, Equatable {
    public var key: String
    public var value: Double
    public var step: Int?
    public var time: Date
}

/// Set once, read from any thread: the run is being stopped.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    public init() {}
    public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
    public func cancel() { lock.lock(); set = true; lock.unlock() }
}

enum Timestamp {
    static func now() -> String { format(Date()) }
    static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
