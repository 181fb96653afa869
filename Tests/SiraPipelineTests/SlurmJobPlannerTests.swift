import Foundation
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import Testing

/// The grouping of stages into job arrays and the Slurm dependency strings, checked against
/// hand-derived expectations for the probe graph and the real pipeline's graph shape.
struct SlurmJobPlannerTests {
    func planner(_ stages: [any PipelineStage]) -> SlurmJobPlanner {
        let numbers = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($0.element.id, $0.offset) })
        return SlurmJobPlanner(stages: stages.map { s in
            SlurmJobPlanner.Stage(id: s.id, dependencies: s.dependencies.map { numbers[$0]! })
        })
    }

    @Test func probeGraphBecomesArraysWithCorrespondingDependencies() throws {
        let tasks = ["a", "b c", "it's", "d", "e", "f", "g"]   // 7 tasks
        let p = planner(ProbePipeline(tasks: tasks).stages())
        let groups = p.groups(batch: Array(p.stages.indices), live: [:])
        // ingest[0-6], tokenizer, train[0-6], evaluate[0-6], package
        #expect(groups.map(\.label) == ["ingest", "tokenizer", "train:probe", "evaluate:probe", "package:probe"])
        #expect(groups.map(\.isArray) == [true, false, true, true, false])
        #expect(groups[0].members == Array(0 ..< 7))
        #expect(groups[0].dependencies.isEmpty)
        // the tokenizer needs every ingest element: one whole-job dependency, not 7 elements
        #expect(groups[1].dependencies == [.whole(group: 0)])
        // train@t needs ingest@t (same index) and the tokenizer
        #expect(groups[2].dependencies == [.corresponding(group: 0), .whole(group: 1)])
        #expect(groups[3].dependencies == [.corresponding(group: 2), .whole(group: 1)])
        #expect(groups[4].dependencies == [.whole(group: 3)])
        let ids = [0: "100", 1: "101", 2: "102", 3: "103"]
        #expect(SlurmJobPlanner.dependencyOption(groups[2].dependencies, jobIDs: ids) == "afterok:101,aftercorr:100")
        #expect(SlurmJobPlanner.dependencyOption(groups[4].dependencies, jobIDs: ids) == "afterok:103")
        #expect(SlurmJobPlanner.dependencyOption([], jobIDs: ids) == nil)
        #expect(SlurmJobPlanner.arrayOption([6, 0, 2], limit: 3) == "0,2,6%3")
        #expect(SlurmJobPlanner.arrayOption([1], limit: nil) == "1")
    }

    @Test func partialJoinsNameSingleElements() throws {
        // tokenizer trained on tasks 0 and 2 of 3 only; base on task 1 only
        let ingest = (0 ..< 3).map { StageID(.ingest, task: "t\($0)") }
        let tok = StageID(.tokenizer)
        let base = StageID(.base)
        let stages: [any PipelineStage] = ingest.map { PlainStage(id: $0, dependencies: []) } + [
            PlainStage(id: tok, dependencies: [ingest[0], ingest[2]]),
            PlainStage(id: base, dependencies: [tok, ingest[1]]),
            PlainStage(id: StageID(.train, task: "t0", variant: "v"), dependencies: [base, ingest[0]]),
            PlainStage(id: StageID(.train, task: "t1", variant: "v"), dependencies: [base, ingest[1], ingest[2]]),
        ]
        let p = planner(stages)
        let g = p.groups(batch: Array(p.stages.indices), live: [:])
        #expect(g[1].dependencies == [.element(group: 0, index: 0), .element(group: 0, index: 2)])
        #expect(g[2].dependencies == [.whole(group: 1), .element(group: 0, index: 1)])
        // the two train stages have different dependency shapes: two jobs, never one array
        #expect(g.count == 5)
        #expect(g[3].members == [5] && g[4].members == [6])
        #expect(g[3].dependencies == [.corresponding(group: 0), .whole(group: 2)])
        #expect(g[4].dependencies == [.corresponding(group: 0), .whole(group: 2), .element(group: 0, index: 2)])
        #expect(SlurmJobPlanner.dependencyOption(g[4].dependencies, jobIDs: [0: "7", 2: "9"]) == "afterok:9:7_2,aftercorr:7")
        #expect(p.dependants(of: 1) == [4, 5, 6])
        #expect(p.dependants(of: 0) == [3, 4, 5, 6])
        #expect(p.dependants(of: 6).isEmpty)
    }

    @Test func resubmissionRefersToLiveJobsOutsideTheBatch() throws {
        let p = planner(ProbePipeline(tasks: ["a", "b"]).stages())
        // stages: 0 ingest@a, 1 ingest@b, 2 tokenizer, 3 train@a, 4 train@b, 5 eval@a, 6 eval@b, 7 package
        // retry train@b (4) with eval@b (6); the tokenizer has finished (not live); eval@a still queued.
        let g = p.groups(batch: [4, 6], live: [1: .init(job: "50", index: 1), 5: .init(job: "60", index: 0)])
        #expect(g.count == 2)
        #expect(g[0].members == [4] && g[0].isArray)
        #expect(g[0].dependencies == [.correspondingJob("50")])
        #expect(g[1].dependencies == [.corresponding(group: 0)])
        // package depends on eval@a (live element, other index) and eval@b (in the batch)
        let g2 = p.groups(batch: [6, 7], live: [5: .init(job: "60", index: 0)])
        #expect(g2[1].dependencies == [.whole(group: 0), .job("60_0")])
        #expect(SlurmJobPlanner.dependencyOption(g2[1].dependencies, jobIDs: [0: "61"]) == "afterok:61:60_0")
    }
}

/// A stage with only an id and dependencies (graph-shape tests; never run).
struct PlainStage: PipelineStage {
    var id: StageID
    var dependencies: [StageID]
    func parameters() throws -> String { "{}" }
    func run(_ context: StageContext) throws -> StageResult { StageResult() }
}
