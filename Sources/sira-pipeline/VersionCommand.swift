import ArgumentParser
import SiraPipeline
import SiraStages

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the tool version.")
    func run() throws { print(ToolVersion.string) }
}
