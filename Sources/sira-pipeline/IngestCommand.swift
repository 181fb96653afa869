import ArgumentParser
import Foundation
import SiraData

/// `sira-pipeline ingest FILE... [--task NAME] [--workspace DIR]`: the pipeline's ingest stage, by
/// hand. Prints the snapshot and its figures, the first rejected rows as `file:line: reason`, and
/// any file moved to the quarantine. Exits non-zero when a file could not be used at all.
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Validate, deduplicate and split dataset files into a snapshot under data/datasets/<task>/<sha256>/."
    )

    @Argument(help: "Dataset files (.jsonl, .csv, .tsv, .txt). Files in data/inbox/ are moved to data/archive/; others are copied.")
    var files: [String]

    @Option(help: "Task name (default: the first file's name without extension).")
    var task: String?

    @Option(help: "The workspace root (default: the current folder).")
    var workspace: String?

    @Option(help: "Column mapping for CSV/TSV/JSONL, e.g. prompt=question,completion=answer or text=body.")
    var columns: String?

    @Option(help: "Read every file as this format: jsonl, csv, tsv or text (default: by extension).")
    var format: String?

    // `.unconditional`: a negative number is the value (and then a range error), not an option.
    @Option(name: .customLong("eval-fraction"), parsing: .unconditional, help: "Share of records in the eval split, in [0, 1).")
    var evalFraction: Double = IngestOptions.defaultEvalFraction

    @Option(name: .customLong("max-record-bytes"), help: "Longest accepted record in UTF-8 bytes.")
    var maxRecordBytes: Int = ReaderOptions.defaultMaxRecordBytes

    @Option(name: .customLong("show-rejects"), help: "How many rejected rows to print.")
    var showRejects: Int = 20

    func validate() throws {
        guard evalFraction >= 0, evalFraction < 1 else { throw ValidationError("--eval-fraction must be in [0, 1), got \(evalFraction)") }
        guard maxRecordBytes >= 1 else { throw ValidationError("--max-record-bytes must be at least 1, got \(maxRecordBytes)") }
        guard showRejects >= 0 else { throw ValidationError("--show-rejects must be >= 0, got \(showRejects)") }
    }

    func run() throws {
        var reader = ReaderOptions(maxRecordBytes: maxRecordBytes)
        if let columns {
            do { reader.columns = try ColumnMapping.parse(columns) } catch { throw ValidationError(error.description) }
        }
        var parsedFormat: DatasetFormat?
        if let format {
            guard let f = DatasetFormat(rawValue: format) else {
                throw ValidationError("--format must be one of: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            parsedFormat = f
        }
        let root = URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath)
        let urls = files.map { URL(fileURLWithPath: $0) }
        let options = IngestOptions(task: task, format: parsedFormat, reader: reader, evalFraction: evalFraction, rejectsReturned: showRejects)
        let result: IngestResult
        do {
            result = try Ingestor(root: root).ingest(urls, options: options)
        } catch let error as IngestError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        let s = result.stats
        print("\(result.reused ? "already ingested" : "ingested"): task \(result.task) → \(result.snapshot.path)")
        print("  records \(s.records) (train \(s.train), eval \(s.eval)), rejected \(s.rejected), duplicates \(s.duplicates), "
            + "\(s.bytes) bytes, \(s.characters) characters")
        for reject in result.rejects.prefix(showRejects) {
            print("  rejected \(reject.description)")
        }
        if s.rejected > result.rejects.count, !result.rejectFiles.isEmpty {
            print("  all rejected rows: \(result.rejectFiles.map(\.path).joined(separator: ", "))")
        }
        for q in result.quarantined {
            FileHandle.standardError.write(Data("error: \(q.reason)\n  moved to \(q.destination.path) (see \(q.destination.path).reason)\n".utf8))
        }
        if !result.quarantined.isEmpty { throw ExitCode(1) }
    }
}
