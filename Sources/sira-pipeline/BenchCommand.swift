import ArgumentParser

/// `sira-pipeline bench ...`: the figures the product is held to (DESIGN.md §9). Each subcommand
/// prints a table and, with `--json FILE`, writes the same figures as JSON. Benchmarks, never tests.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the product's speed figures against peers on this machine.",
        subcommands: [
            BenchKernelsCommand.self,
            BenchPackageCommand.self,
            BenchPipelineCommand.self,
            BenchTrainCommand.self,
            BenchValidateCommand.self,
            BenchWatchCommand.self,
            BenchTokenizerCommand.self,
            BenchModelCommand.self,
            BenchUICommand.self,
        ]
    )
}
