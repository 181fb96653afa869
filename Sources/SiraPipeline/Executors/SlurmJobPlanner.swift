/// Turns stages into Slurm jobs: per-task stages of one kind and variant with the same kind of
/// dependencies become one job array indexed by task number, every other stage a plain job, and
/// stage dependencies become Slurm dependencies:
///
/// - `aftercorr:A` when each element needs the same task's element of array A (the per-task
///   chains `ingest@t → tokenize@t → train@t:v`), so one task's failure holds back only its own
///   chain;
/// - `afterok:A` when a stage needs every element of A (a join such as the tokenizer);
/// - `afterok:A_i` for single elements, `afterok:J` for plain jobs.
///
/// Stages are only grouped when all members have the same dependency shape, so no element ever
/// waits for more than its own stage does. Pure: the executor submits the groups in order (each
/// group depends only on earlier ones) and maps group numbers to job ids.
struct SlurmJobPlanner {
    struct Stage: Equatable {
        var id: StageID
        /// Numbers of the stages it depends on.
        var dependencies: [Int]
    }

    /// A job submitted earlier and still in the queue: the plain job id and the array index.
    struct JobRef: Hashable, Sendable {
        var job: String
        var index: Int?

        var text: String { index.map { "\(job)_\($0)" } ?? job }
    }

    enum Dependency: Hashable, Comparable {
        /// On the element with the same index of group N (`aftercorr`).
        case corresponding(group: Int)
        /// On every element of group N, or on plain job N (`afterok`).
        case whole(group: Int)
        /// On one element of array group N (`afterok:J_i`).
        case element(group: Int, index: Int)
        /// On the same-index element of an array job submitted earlier (`aftercorr`).
        case correspondingJob(String)
        /// On a job submitted earlier (`afterok`).
        case job(String)
    }

    struct Group: Equatable {
        /// `kind` or `kind:variant` (plain jobs add `@task`): for job names and script names.
        var label: String
        /// Stage numbers, in plan order.
        var members: [Int]
        var isArray: Bool
        /// Sorted.
        var dependencies: [Dependency]
    }

    let stages: [Stage]
    /// Task name → array index (its position among the run's tasks).
    let taskIndex: [String: Int]

    init(stages: [Stage]) {
        self.stages = stages
        var index: [String: Int] = [:]
        for s in stages {
            if let t = s.id.task, index[t] == nil { index[t] = index.count }
        }
        taskIndex = index
    }

    func arrayIndex(_ stage: Int) -> Int? { stages[stage].id.task.flatMap { taskIndex[$0] } }

    /// Groups `batch` (stage numbers, dependencies first) into jobs. A dependency outside the
    /// batch is on its job in `live`; one that is neither in the batch nor live has already
    /// produced its output and needs no Slurm dependency.
    func groups(batch: [Int], live: [Int: JobRef]) -> [Group] {
        struct ArrayKey: Hashable {
            var kind: StageKind
            var variant: String?
            var dependencies: [Dependency]
        }
        var groups: [Group] = []
        var groupOf: [Int: Int] = [:]
        var arrays: [ArrayKey: Int] = [:]
        for s in batch {
            let stage = stages[s]
            let own = arrayIndex(s)
            var deps: Set<Dependency> = []
            var elementsByGroup: [Int: Set<Int>] = [:]
            for d in stage.dependencies {
                if let g = groupOf[d] {
                    if groups[g].isArray, let di = arrayIndex(d) {
                        if let own, own == di { deps.insert(.corresponding(group: g)) } else { elementsByGroup[g, default: []].insert(di) }
                    } else {
                        deps.insert(.whole(group: g))
                    }
                } else if let ref = live[d] {
                    if let own, let ri = ref.index, ri == own {
                        deps.insert(.correspondingJob(ref.job))
                    } else {
                        deps.insert(.job(ref.text))
                    }
                }
            }
            for (g, indices) in elementsByGroup {
                let all = Set(groups[g].members.compactMap(arrayIndex))
                if indices == all, !deps.contains(.corresponding(group: g)) {
                    deps.insert(.whole(group: g))
                } else {
                    for i in indices { deps.insert(.element(group: g, index: i)) }
                }
            }
            let sorted = deps.sorted()
            let label = [stage.id.kind.rawValue, stage.id.variant].compactMap { $0 }.joined(separator: ":")
            if own != nil {
                let key = ArrayKey(kind: stage.id.kind, variant: stage.id.variant, dependencies: sorted)
                if let g = arrays[key] {
                    groups[g].members.append(s)
                    groupOf[s] = g
                    continue
                }
                arrays[key] = groups.count
                groupOf[s] = groups.count
                groups.append(Group(label: label, members: [s], isArray: true, dependencies: sorted))
            } else {
                groupOf[s] = groups.count
                groups.append(Group(label: stage.id.description, members: [s], isArray: false, dependencies: sorted))
            }
        }
        return groups
    }

    /// The `--dependency` value for a group, given the job ids of the groups submitted before it;
    /// nil when it depends on nothing. `afterok` and `aftercorr` parts are joined by `,` (all must hold).
    static func dependencyOption(_ deps: [Dependency], jobIDs: [Int: String]) -> String? {
        var ok: [String] = []
        var corr: [String] = []
        for d in deps {
            switch d {
            case let .corresponding(g): corr.append(jobIDs[g]!)
            case let .whole(g): ok.append(jobIDs[g]!)
            case let .element(g, i): ok.append("\(jobIDs[g]!)_\(i)")
            case let .correspondingJob(j): corr.append(j)
            case let .job(j): ok.append(j)
            }
        }
        var parts: [String] = []
        if !ok.isEmpty { parts.append("afterok:" + ok.joined(separator: ":")) }
        if !corr.isEmpty { parts.append("aftercorr:" + corr.joined(separator: ":")) }
        return parts.isEmpty ? nil : parts.joined(separator: ",")
    }

    /// `0,2,5` with an optional `%K` limit on how many elements run at once.
    static func arrayOption(_ indices: [Int], limit: Int?) -> String {
        indices.sorted().map(String.init).joined(separator: ",") + (limit.map { "%\($0)" } ?? "")
    }

    /// Every stage that depends on `stage`, directly or not, in plan order (one pass: the plan
    /// lists dependencies first).
    func dependants(of stage: Int) -> [Int] {
        var hit = Set([stage])
        var out: [Int] = []
        for (i, s) in stages.enumerated() where !hit.contains(i) {
            if s.dependencies.contains(where: hit.contains) {
                hit.insert(i)
                out.append(i)
            }
        }
        return out
    }
}
