import Foundation

/// The manifests of a workspace: every `*.yaml` and `*.yml` directly in `pipelines/`, sorted.
public enum ManifestDiscovery {
    public static func manifests(in workspace: Workspace) -> [URL] {
        let folder = workspace.root.appendingPathComponent("pipelines")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }
            .sorted()
            .map { folder.appendingPathComponent($0) }
    }
}
