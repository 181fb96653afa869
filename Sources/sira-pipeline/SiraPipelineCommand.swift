import ArgumentParser
import SiraPipeline
import SiraStages

/// The root command. Each subcommand lives in its own file, named for the command.
@main
struct SiraPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sira-pipeline",
        abstract: "Train, evaluate and ship SiRA adapters (sparse mixtures of LoRA experts) for a frozen base model.",
        version: ToolVersion.string,
        subcommands: [
            VersionCommand.self,
            RunCommand.self,
            ValidateCommand.self,
            ScheduleCommand.self,
            WatchCommand.self,
            IngestCommand.self,
            TokenizerCommand.self,
            RunsCommand.self,
            ShowCommand.self,
            CompareCommand.self,
            ReportCommand.self,
            UICommand.self,
            ExportCommand.self,
            MetricsCommand.self,
            GcCommand.self,
            VerifyCommand.self,
            ScoreCommand.self,
            GenerateCommand.self,
            BenchCommand.self,
            StageExecCommand.self,
            SlurmCheckCommand.self,
        ]
    )
}
