import Foundation
import SiraIO

/// The ingest stage: turns dataset files into a content-addressed snapshot and never loses a byte
/// of what it was given. `sira-pipeline ingest` and the pipeline's ingest stage both call `ingest`.
///
/// Contract:
/// - The snapshot folder `data/datasets/<task>/<sha256>/` is named by `snapshotKey`: a hash of the
///   input files' bytes and of the options that shape the output. Ingesting the same content
///   again (under any file name) finds the folder and does no work (`reused`).
/// - Records are read in file order, rejected rows are written to
///   `data/quarantine/<file>.<sha12>.rejects.jsonl`, exact duplicates (after white-space
///   normalisation, `RecordKey`) of an earlier record are dropped, and each remaining record goes to
///   `train.jsonl` or `eval.jsonl` by its own hash, so the split of a record never changes when
///   other records are added, removed or reordered.
/// - A file that cannot be used at all (unknown type, unreadable header, no valid record, a link in
///   the inbox) goes to `data/quarantine/` whole with a `.reason` file; the others are still ingested.
/// - Afterwards each usable file's bytes are in `data/archive/<sha256>.<ext>`: moved there from the
///   inbox, copied there from anywhere else (files outside the inbox are never moved or changed).
/// - Every write is atomic; the snapshot folder is built aside and renamed into place, so a crash
///   leaves either no snapshot or a complete one, and rerunning finishes the job.
public struct Ingestor: Sendable {
    public let workspace: IngestWorkspace

    public init(workspace: IngestWorkspace) {
        self.workspace = workspace
    }

    public init(root: URL) {
        self.init(workspace: IngestWorkspace(root: root))
    }

    private struct Source {
        let url: URL
        let sha256: String
        let format: DatasetFormat
        let bytes: Int
        let move: Bool
    }

    public func ingest(_ files: [URL], options: IngestOptions = IngestOptions()) throws -> IngestResult {
        guard let first = files.first else { throw IngestError.noFiles }
        let task = options.task ?? first.deletingPathExtension().lastPathComponent
        guard IngestOptions.isValidTaskName(task) else { throw IngestError.badTaskName(task) }
        guard options.evalFraction >= 0, options.evalFraction < 1 else { throw IngestError.badEvalFraction(options.evalFraction) }
        if let columns = options.reader.columns {
            do { try columns.validate() } catch { throw IngestError.badColumns(error.description) }
        }

        var quarantined: [QuarantinedFile] = []
        var sources: [Source] = []
        for url in files {
            let move = workspace.isInInbox(url)
            if move, FilePlacement.isSymbolicLink(url) {
                quarantined.append(try quarantine(url, sha256: nil, move: true,
                                                  reason: "\(url.path): is a symbolic link; links in the inbox are not followed"))
                continue
            }
            // Never opened unless regular: a FIFO would block forever, /dev/zero never end.
            let kind = FileKind(path: url.path)
            if kind != .regular {
                if move, kind != .missing, kind != .folder {
                    quarantined.append(try quarantine(url, sha256: nil, move: true,
                                                      reason: "\(url.path): is \(kind.phrase), not a regular file; it was not read"))
                    continue
                }
                throw IngestError.notAFile(url.path, kind)
            }
            let sha = try ContentHash.sha256(file: url)
            guard let format = options.format ?? DatasetFormat.of(url) else {
                let reason = DatasetFileError.unsupportedType(url.path, url.pathExtension.isEmpty ? "(none)" : "." + url.pathExtension).description
                quarantined.append(try quarantine(url, sha256: sha, move: move, reason: reason))
                continue
            }
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
            sources.append(Source(url: url, sha256: sha, format: format, bytes: size, move: move))
        }
        guard !sources.isEmpty else { throw IngestError.nothingUsable(quarantined) }

        let key = Self.snapshotKey(sources: sources.map { ($0.sha256, $0.format) }, options: options)
        let snapshot = workspace.snapshot(task: task, sha256: key)
        let statsURL = snapshot.appendingPathComponent(Snapshot.statsFileName)
        if FileManager.default.fileExists(atPath: statsURL.path) {
            return try finishReused(task: task, key: key, snapshot: snapshot, sources: sources, quarantined: quarantined)
        }
        return try build(task: task, key: key, snapshot: snapshot, sources: sources, options: options, quarantined: quarantined)
    }

    /// The snapshot's name: SHA-256 of a canonical text listing the format version, the options
    /// that change the output (eval fraction, record limit, column mapping) and, in order, each
    /// input file's SHA-256 and format. The task name is not part of it (it is the parent folder).
    public static func snapshotKey(sources: [(sha256: String, format: DatasetFormat)], options: IngestOptions) -> String {
        var text = "\(SnapshotStats.formatName)\n"
        text += "eval_fraction=\(options.evalFraction)\n"
        text += "max_record_bytes=\(options.reader.maxRecordBytes)\n"
        text += "columns=\(options.reader.columns?.description ?? "")\n"
        for s in sources { text += "\(s.sha256) \(s.format.rawValue)\n" }
        return ContentHash.sha256(text)
    }

    // MARK: - Building a snapshot

    private func build(task: String, key: String, snapshot: URL, sources: [Source], options: IngestOptions,
                       quarantined initiallyQuarantined: [QuarantinedFile]) throws -> IngestResult
    {
        var quarantined = initiallyQuarantined
        let fm = FileManager.default
        try fm.createDirectory(at: snapshot.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.createDirectory(at: workspace.quarantine, withIntermediateDirectories: true)
        let tmp = AtomicFile.temporaryURL(for: snapshot)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        var published = false
        defer { if !published { try? fm.removeItem(at: tmp) } }

        let train = try BufferedWriter(creating: tmp.appendingPathComponent(Snapshot.trainFileName))
        let eval = try BufferedWriter(creating: tmp.appendingPathComponent(Snapshot.evalFileName))
        var seen = Set<RecordKey>()
        var rejects: [RejectedRecord] = []
        var rejectFiles: [URL] = []
        var statsSources: [SnapshotStats.Source] = []
        var usable: [Source] = []
        var trainCount = 0, evalCount = 0, rejectedTotal = 0, duplicatesTotal = 0, bytesTotal = 0, characters = 0

        for source in sources {
            let rejectsURL = workspace.quarantine.appendingPathComponent(
                "\(source.url.lastPathComponent).\(source.sha256.prefix(12)).rejects.jsonl")
            let rejectsTmp = AtomicFile.temporaryURL(for: rejectsURL)
            let rejectWriter = try BufferedWriter(creating: rejectsTmp)
            defer { try? fm.removeItem(at: rejectsTmp) }
            var duplicates = 0, kept = 0
            var firstRejects: [RejectedRecord] = []
            var fileError: String?
            var summary = DatasetReader.Summary()
            do {
                summary = try DatasetReader.read(source.url, format: source.format, options: options.reader, onExample: { _, example in
                    let recordKey = RecordKey(example)
                    guard seen.insert(recordKey).inserted else {
                        duplicates += 1
                        return
                    }
                    kept += 1
                    characters += scalarCount(example.prompt) + scalarCount(example.completion)
                    let line = Snapshot.line(example)
                    if recordKey.isEval(fraction: options.evalFraction) {
                        try eval.append(line)
                        evalCount += 1
                    } else {
                        try train.append(line)
                        trainCount += 1
                    }
                }, onReject: { reject in
                    var line: [UInt8] = []
                    JSONWriter.write(reject.json, to: &line)
                    line.append(0x0A)
                    try rejectWriter.append(line)
                    if firstRejects.count < max(options.rejectsReturned, 3) { firstRejects.append(reject) }
                })
            } catch let error as DatasetFileError {
                if case .cannotRead = error { throw error }
                fileError = error.description
            }
            _ = try rejectWriter.finish()
            if fileError == nil, summary.examples == 0 {
                let detail = summary.rejected == 0 ? "the file holds no records"
                    : "all \(summary.rejected) rows were rejected; first: " + firstRejects.prefix(3).map(\.description).joined(separator: "; ")
                fileError = DatasetFileError.noUsableRecords(source.url.path, detail).description
            }
            if summary.rejected > 0 {
                try AtomicFile.publish(rejectsTmp, to: rejectsURL)
                rejectFiles.append(rejectsURL)
            }
            if let reason = fileError {
                quarantined.append(try quarantine(source.url, sha256: source.sha256, move: source.move, reason: reason))
                statsSources.append(SnapshotStats.Source(
                    file: source.url.lastPathComponent, sha256: source.sha256, format: source.format.rawValue, bytes: source.bytes,
                    records: 0, rejected: summary.rejected, duplicates: 0, status: .quarantined, reason: reason))
                continue
            }
            usable.append(source)
            rejects += firstRejects.prefix(max(0, options.rejectsReturned - rejects.count))
            rejectedTotal += summary.rejected
            duplicatesTotal += duplicates
            bytesTotal += source.bytes
            statsSources.append(SnapshotStats.Source(
                file: source.url.lastPathComponent, sha256: source.sha256, format: source.format.rawValue, bytes: source.bytes,
                records: kept, rejected: summary.rejected, duplicates: duplicates, status: .ingested, reason: nil))
        }
        let trainSHA = try train.finish()
        let evalSHA = try eval.finish()
        guard !usable.isEmpty else { throw IngestError.nothingUsable(quarantined) }

        let stats = SnapshotStats(
            task: task, sha256: key, records: trainCount + evalCount, train: trainCount, eval: evalCount,
            rejected: rejectedTotal, duplicates: duplicatesTotal, bytes: bytesTotal, characters: characters,
            evalFraction: options.evalFraction, trainSHA256: trainSHA, evalSHA256: evalSHA, sources: statsSources)
        var statsBytes: [UInt8] = []
        JSONWriter.write(stats.json, to: &statsBytes)
        statsBytes.append(0x0A)
        try AtomicFile.write(statsBytes, to: tmp.appendingPathComponent(Snapshot.statsFileName))
        try AtomicFile.syncTree(tmp)
        try AtomicFile.publish(tmp, to: snapshot)
        published = true

        let archived = try usable.map { try archive($0) }
        return IngestResult(task: task, sha256: key, snapshot: snapshot, stats: stats, rejects: rejects, rejectFiles: rejectFiles,
                            quarantined: quarantined, archived: archived, reused: false)
    }

    /// The snapshot exists: only the input files still need to reach the archive or quarantine
    /// (the previous ingest may have stopped before moving them).
    private func finishReused(task: String, key: String, snapshot: URL, sources: [Source],
                              quarantined initiallyQuarantined: [QuarantinedFile]) throws -> IngestResult
    {
        var quarantined = initiallyQuarantined
        let statsURL = snapshot.appendingPathComponent(Snapshot.statsFileName)
        let stats: SnapshotStats
        do {
            stats = try SnapshotStats(json: try JSONParser.parse(Array(try Data(contentsOf: statsURL))))
        } catch {
            throw IngestError.badSnapshot(statsURL.path, "\(error)")
        }
        var archived: [URL] = []
        var rejectFiles: [URL] = []
        for (i, source) in sources.enumerated() {
            let recorded = i < stats.sources.count && stats.sources[i].sha256 == source.sha256 ? stats.sources[i] : nil
            if recorded?.rejected ?? 0 > 0 {
                rejectFiles.append(workspace.quarantine.appendingPathComponent(
                    "\(recorded!.file).\(source.sha256.prefix(12)).rejects.jsonl"))
            }
            if let recorded, recorded.status == .quarantined {
                quarantined.append(try quarantine(source.url, sha256: source.sha256, move: source.move,
                                                  reason: recorded.reason ?? "quarantined by an earlier ingest"))
            } else {
                archived.append(try archive(source))
            }
        }
        return IngestResult(task: task, sha256: key, snapshot: snapshot, stats: stats, rejects: [], rejectFiles: rejectFiles,
                            quarantined: quarantined, archived: archived, reused: true)
    }

    // MARK: - Archive and quarantine

    private func archive(_ source: Source) throws -> URL {
        try archive(source.url, sha256: source.sha256, move: source.move)
    }

    private func archive(_ url: URL, sha256: String, move: Bool) throws -> URL {
        let ext = url.pathExtension.isEmpty ? "bin" : url.pathExtension.lowercased()
        let destination = workspace.archive.appendingPathComponent("\(sha256).\(ext)")
        if FileManager.default.fileExists(atPath: destination.path) {
            // Named by content: the bytes are already kept, so the inbox copy can go.
            if move { try FileManager.default.removeItem(at: url) }
        } else {
            try FilePlacement.place(url, at: destination, move: move)
        }
        return destination
    }

    /// Moves an inbox file whose content (`sha256`) was already processed into the archive, where
    /// ingest keeps every input by content (removed when the archive already holds those bytes).
    public func archiveProcessed(file url: URL, sha256: String) throws -> URL {
        try archive(url, sha256: sha256, move: true)
    }

    /// Puts a whole file in the quarantine for `reason` (a file no pipeline takes, for the watch
    /// daemon): moved when it lies in the inbox, copied otherwise; see `quarantine(_:sha256:move:reason:)`.
    public func quarantine(file url: URL, reason: String) throws -> QuarantinedFile {
        let sha = FilePlacement.isSymbolicLink(url) || FileKind(path: url.path) != .regular ? nil : try? ContentHash.sha256(file: url)
        return try quarantine(url, sha256: sha, move: workspace.isInInbox(url), reason: reason)
    }

    /// Puts a whole file in the quarantine under its own name (or `<stem>-<sha12>.<ext>` when a
    /// different file already has that name) with `<name>.reason` next to it.
    private func quarantine(_ url: URL, sha256: String?, move: Bool, reason: String) throws -> QuarantinedFile {
        let fm = FileManager.default
        var destination = workspace.quarantine.appendingPathComponent(url.lastPathComponent)
        if fm.fileExists(atPath: destination.path) || FilePlacement.isSymbolicLink(destination) {
            let existing = FilePlacement.isSymbolicLink(destination) || FileKind(path: destination.path) != .regular
                ? nil : try? ContentHash.sha256(file: destination)
            if existing == nil || existing != sha256 {
                let stem = url.deletingPathExtension().lastPathComponent
                let tag = sha256.map { String($0.prefix(12)) } ?? UUID().uuidString.prefix(12).lowercased()
                destination = workspace.quarantine.appendingPathComponent(
                    url.pathExtension.isEmpty ? "\(stem)-\(tag)" : "\(stem)-\(tag).\(url.pathExtension)")
            }
        }
        if fm.fileExists(atPath: destination.path), sha256 != nil, (try? ContentHash.sha256(file: destination)) == sha256 {
            if move { try fm.removeItem(at: url) }
        } else if move || sha256 == nil {
            try FilePlacement.place(url, at: destination, move: true)
        } else {
            try FilePlacement.place(url, at: destination, move: false)
        }
        var text = reason + "\n"
        if let sha256 { text += "sha256: \(sha256)\n" }
        try AtomicFile.write(text, to: destination.appendingPathExtension("reason"))
        return QuarantinedFile(source: url, destination: destination, reason: reason)
    }
}

public enum IngestError: Error, CustomStringConvertible, Equatable {
    case noFiles
    case notAFile(String, FileKind)
    case badTaskName(String)
    case badEvalFraction(Double)
    case badColumns(String)
    case nothingUsable([QuarantinedFile])
    case cannotPlace(String, String, String)
    case badSnapshot(String, String)

    public var description: String {
        switch self {
        case .noFiles: return "no input files"
        case let .notAFile(path, kind): return NotARegularFile(path: path, kind: kind).description
        case let .badTaskName(name):
            return "task name \"\(name)\" is not usable as a folder name (letters, digits, '.', '_', '-'; set one with --task)"
        case let .badEvalFraction(f): return "eval_fraction \(f) must be in [0, 1)"
        case let .badColumns(why): return why
        case let .nothingUsable(files):
            return "no usable input: " + files.map { "\($0.reason) (moved to \($0.destination.path))" }.joined(separator: "; ")
        case let .cannotPlace(source, destination, why): return "cannot move \(source) to \(destination): \(why)"
        case let .badSnapshot(path, why): return "\(path): unreadable snapshot stats: \(why)"
        }
    }
}
