#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `run --force GLOB`: the stages that run even when their output is cached (a suspect result,
/// a flaky machine), chosen by shell globs over stage ids (`train@dates:sira`, `'train@*:sira'`,
/// `'*@dates*'`). A forced stage computes under its usual key and its output replaces the cached
/// one; dependants rerun only if that output's bytes differ (force them too to rerun them anyway).
public enum ForcedStages {
    /// The ids among `stages` that match one of `globs`. Every glob must match a stage: a typo
    /// must not turn a forced rerun into a silent all-cached one.
    public static func select(_ globs: [String], among stages: [StageID], pipeline: String) throws -> Set<StageID> {
        var out: Set<StageID> = []
        for glob in globs {
            let matched = stages.filter { fnmatch(glob, $0.description, 0) == 0 }
            guard !matched.isEmpty else {
                let examples = stages.filter { $0.kind == .train }.prefix(2).map(\.description) + stages.prefix(1).map(\.description)
                throw StageFailure("--force '\(glob)' matches no stage of \(pipeline) (stage ids look like \(examples.joined(separator: ", ")); `sira-pipeline validate` counts them)")
            }
            out.formUnion(matched)
        }
        return out
    }
}
