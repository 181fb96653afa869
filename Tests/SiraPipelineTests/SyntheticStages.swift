import Foundation
import SiraIO
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import SiraStore

/// A temporary workspace folder, removed when the test ends.
final class TempWorkspace: @unchecked Sendable {
    let url: URL
    let workspace: Workspace

    init(_ label: String = "ws") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sira-\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        workspace = Workspace(root: url)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ text: String, to path: String) throws {
        let u = url.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: u, atomically: true, encoding: .utf8)
    }
}

/// Counts how often each synthetic stage really ran (not cached), and the peak concurrency.
final class RunLog: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]
    private var active = 0
    private(set) var peak = 0
    private(set) var order: [String] = []

    func enter(_ id: StageID) {
        lock.withLock {
            counts[id.description, default: 0] += 1
            order.append(id.description)
            active += 1
            peak = max(peak, active)
        }
    }

    func leave() { lock.withLock { active -= 1 } }
    func count(_ id: String) -> Int { lock.withLock { counts[id] ?? 0 } }
    var total: Int { lock.withLock { counts.values.reduce(0, +) } }
    var activeNow: Int { lock.withLock { active } }
}

/// A stage whose output is a pure function of its parameter and its inputs' files, so the tests
/// can predict every output independently: `out.txt` = param + each input's `out.txt`, sorted.
struct SyntheticStage: PipelineStage {
    var id: StageID
    var dependencies: [StageID]
    var param: String
    var log: RunLog
    /// A file in the workspace whose content is an input (like a task's source data).
    var sourceFile: String?
    /// Attempts that fail before one succeeds.
    var failures = 0
    var failAlways = false
    var sleep: Double = 0
    /// Run until cancelled, saving a step counter in the work folder (resumable).
    var loopUntilCancelled = false
    var steps = 0
    var onRun: (@Sendable (StageContext) -> Void)?

    func parameters() throws -> String { try CacheKey.canonicalJSON(["param": param]) }

    func externalInputs(_ workspace: Workspace) throws -> [String: String] {
        guard let sourceFile else { return [:] }
        return ["file:" + sourceFile: try ContentHash.sha256(file: workspace.resolve(sourceFile))]
    }

    func run(_ context: StageContext) throws -> StageResult {
        log.enter(id)
        defer { log.leave() }
        onRun?(context)
        if failAlways { throw StageFailure("\(id) always fails") }
        if context.attempt <= failures { throw StageFailure("\(id) fails attempt \(context.attempt)") }
        if sleep > 0 { Thread.sleep(forTimeInterval: sleep) }
        if steps > 0 {
            let state = context.workFolder.appendingPathComponent("step")
            var step = (try? String(contentsOf: state, encoding: .utf8)).flatMap { Int($0) } ?? 0
            while step < steps {
                step += 1
                try AtomicFile.write(String(step), to: state)
                context.progress(step: step, of: steps, loss: 1 / Double(step))
                if loopUntilCancelled { Thread.sleep(forTimeInterval: 0.01) }
                try context.checkCancelled()
            }
            try String(step).write(to: context.outputFolder.appendingPathComponent("steps"), atomically: true, encoding: .utf8)
        }
        var text = param
        for dep in dependencies.sorted() {
            text += "|" + (try String(contentsOf: context.input(dep).url("out.txt"), encoding: .utf8))
        }
        if let sourceFile {
            text += "|src=" + (try String(contentsOf: context.workspace.resolve(sourceFile), encoding: .utf8))
        }
        try text.write(to: context.outputFolder.appendingPathComponent("out.txt"), atomically: true, encoding: .utf8)
        return StageResult(metrics: ["len": Double(text.count)], info: ["param": param])
    }
}

/// Collects events (thread-safe) for assertions.
final class EventLog: PipelineObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var _events: [PipelineEvent] = []
    var onEvent: (@Sendable (PipelineEvent) -> Void)?

    func handle(_ event: PipelineEvent) {
        lock.withLock { _events.append(event) }
        onEvent?(event)
    }

    var events: [PipelineEvent] { lock.withLock { _events } }

    var retries: [(StageID, Int, Double)] {
        events.compactMap { if case let .stageRetrying(id, attempt, delay, _) = $0 { return (id, attempt, delay) } else { return nil } }
    }
}

func runSynthetic(_ stages: [any PipelineStage], in tw: TempWorkspace, recorder: RunRecorder = MemoryRecorder(),
                  jobs: Int = 1, retries: Int = 0, backoff: Double = 0.01, observer: PipelineObserver? = nil) throws -> RunSummary {
    let session = try WorkspaceSession(workspace: tw.workspace, recorder: recorder)
    return try session.run(stages: stages, pipeline: "synthetic", manifestHash: "h", jobs: jobs, retries: retries,
                           options: RunOptions(heartbeatInterval: 0.05, backoff: backoff), observer: observer)
}
