import Foundation
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import Testing

/// `executor: {slurm: {...}}`: every setting read, every bad one reported as
/// `file:line: executor.slurm.key: problem`, and none of them able to carry shell syntax.
struct SlurmManifestTests {
    let head = """
    name: p
    tasks: [{from: a.jsonl}]
    adapters: {lora: }

    """

    @Test func settingsAreRead() throws {
        let m = try ManifestLoader.parse(yaml: head + """
        executor:
          slurm: {partition: "gpu,cpu", account: proj-7, time: "1-02:30:00", memory: 4G, cpus: 7, array_limit: 33}
        """, file: "p.yaml")
        #expect(m.executor == .slurm(SlurmSpec(partition: "gpu,cpu", account: "proj-7", time: "1-02:30:00", memory: "4G", cpus: 7, arrayLimit: 33)))
        let plain = try ManifestLoader.parse(yaml: head + "executor: slurm\n", file: "p.yaml")
        #expect(plain.executor == .slurm(.defaults))
        #expect(SlurmExecutor.resourceArguments(SlurmSpec(partition: "gpu", account: nil, time: "90", memory: "500M", cpus: 1, arrayLimit: nil))
            == ["--cpus-per-task=1", "--nodes=1", "--ntasks=1", "--partition=gpu", "--time=90", "--mem=500M"])
    }

    @Test func badSettingsAreLocated() {
        let errors = manifestErrors(head + """
        executor:
          slurm:
            partition: "gpu; rm -rf /"
            account: "$(whoami)"
            time: "2 hours"
            memory: 4GB
            cpus: 0
            array_limit: -1
            gres: "gpu:1"
        """, file: "p.yaml")
        let shown = Set(errors.map(\.description))
        #expect(shown.contains("p.yaml:6: executor.slurm.partition: 'gpu; rm -rf /' is not a Slurm name (letters, digits, '_', '-', '.'; ',' between partitions)"))
        #expect(shown.contains("p.yaml:7: executor.slurm.account: '$(whoami)' is not a Slurm name (letters, digits, '_', '-', '.'; ',' between partitions)"))
        #expect(shown.contains("p.yaml:8: executor.slurm.time: '2 hours' is not a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM:SS or UNLIMITED)"))
        #expect(shown.contains("p.yaml:9: executor.slurm.memory: '4GB' is not a Slurm memory size (a whole number with an optional K, M, G or T: 4G, 500M)"))
        #expect(errors.contains { $0.line == 10 && $0.keyPath == "executor.slurm.cpus" })
        #expect(errors.contains { $0.line == 11 && $0.keyPath == "executor.slurm.array_limit" })
        #expect(errors.contains { $0.line == 12 && $0.keyPath == "executor.slurm.gres" })
        #expect(errors.count == 7)
    }

    @Test func timeAndMemoryFormats() {
        for ok in ["30", "30:00", "2:30:00", "1-0", "1-12:00", "1-12:00:00", "UNLIMITED", "infinite"] {
            #expect(ScheduleSection.slurmTimeProblem(ok) == nil, "\(ok)")
        }
        for bad in ["", "1:2:3:4", "1-", "-1", "1-2-3", "a", "1h", "１"] {
            #expect(ScheduleSection.slurmTimeProblem(bad) != nil, "\(bad)")
        }
        for ok in ["1", "4G", "500M", "1024k", "2T"] { #expect(ScheduleSection.slurmMemoryProblem(ok) == nil, "\(ok)") }
        for bad in ["G", "4GB", "4.5G", "-1", " 4G"] { #expect(ScheduleSection.slurmMemoryProblem(bad) != nil, "\(bad)") }
    }
}
