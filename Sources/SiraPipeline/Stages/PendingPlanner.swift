import Foundation

public enum PipelinePlanner {
    public static func plan(_ manifest: Manifest, _ workspace: Workspace) throws -> [any PipelineStage] {
        throw StageFailure("the tokenizer and package stages wait for SiraData's BPE and SiraStore's packages")
    }
}
