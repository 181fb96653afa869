import Foundation
import SiraIO
import Testing
@testable import SiraData

private func files(in folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}

@Test func ingestWritesSnapshotQuarantinesRejectsAndArchivesOriginal() throws {
    let root = try scratchFolder("ingest")
    defer { try? FileManager.default.removeItem(at: root) }
    let ws = IngestWorkspace(root: root)
    let lines = [
        #"{"prompt": "a  b", "completion": "c"}"#, // 1
        #"{"prompt": " a b", "completion": "c\n"}"#, // 2: duplicate of 1 after normalisation
        #"{"prompt": "ab", "completion": "c"}"#, // 3: not a duplicate
        #"{"prompt": "x", "completion": ""}"#, // 4: empty
        "{oops", // 5: bad JSON
        #"{"text": "héllo wörld"}"#, // 6
    ]
    let original = Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    let inboxFile = ws.inbox.appendingPathComponent("greet.jsonl")
    try write(original, inboxFile)
    let result = try Ingestor(workspace: ws).ingest([inboxFile], options: IngestOptions(evalFraction: 0.5))
    #expect(result.task == "greet" && !result.reused)
    #expect(result.snapshot.path == ws.datasets.appendingPathComponent("greet/\(result.sha256)").path)
    let stats = result.stats
    #expect(stats.records == 3 && stats.rejected == 2 && stats.duplicates == 1)
    #expect(stats.bytes == original.count)
    #expect(stats.characters == ("a  b" + "c" + "ab" + "c" + "héllo wörld").unicodeScalars.count)
    #expect(stats.train + stats.eval == 3)
    // The snapshot holds exactly the kept records, split by their own hashes.
    let snap = try Snapshot(result.snapshot)
    #expect(snap.stats == stats)
    let kept = try snap.examples(.train) + snap.examples(.eval)
    #expect(Set(kept.map { $0.prompt + "|" + $0.completion }) == ["a  b|c", "ab|c", "|héllo wörld"])
    for e in try snap.examples(.eval) { #expect(RecordKey(e).isEval(fraction: 0.5)) }
    for e in try snap.examples(.train) { #expect(!RecordKey(e).isEval(fraction: 0.5)) }
    #expect(try ContentHash.sha256(file: snap.file(.train)) == stats.trainSHA256)
    // Rejected rows are in the quarantine with their lines; the original moved to the archive intact.
    #expect(result.rejects.map(\.line) == [4, 5])
    let sha = ContentHash.sha256(original)
    #expect(result.rejectFiles == [ws.quarantine.appendingPathComponent("greet.jsonl.\(sha.prefix(12)).rejects.jsonl")])
    let rejectLines = try String(contentsOf: result.rejectFiles[0], encoding: .utf8).split(separator: "\n")
    #expect(rejectLines.count == 2)
    let firstReject = try JSONParser.parse(String(rejectLines[0]))
    #expect(firstReject["line"]?.intValue == 4 && firstReject["reason"]?.stringValue == "empty")
    #expect(firstReject["file"]?.stringValue == inboxFile.path)
    #expect(try JSONParser.parse(String(rejectLines[1]))["reason"]?.stringValue == "bad_json")
    #expect(result.archived == [ws.archive.appendingPathComponent("\(sha).jsonl")])
    #expect(Array(try Data(contentsOf: result.archived[0])) == original)
    #expect(files(in: ws.inbox).isEmpty)
    // No temporaries anywhere.
    #expect(files(in: ws.datasets.appendingPathComponent("greet")) == [result.sha256])
    #expect(files(in: result.snapshot) == ["eval.jsonl", "stats.json", "train.jsonl"])
    #expect(files(in: ws.quarantine) == [result.rejectFiles[0].lastPathComponent])
}

@Test func ingestingTheSameContentTwiceReusesTheSnapshot() throws {
    let root = try scratchFolder("ingest")
    defer { try? FileManager.default.removeItem(at: root) }
    let ws = IngestWorkspace(root: root)
    let content = (0 ..< 33).map { #"{"prompt": "q\#($0)", "completion": "a\#($0)"}"# }.joined(separator: "\n")
    try write(content, ws.inbox.appendingPathComponent("qa.jsonl"))
    let first = try Ingestor(workspace: ws).ingest([ws.inbox.appendingPathComponent("qa.jsonl")])
    let trainURL = first.trainFile
    let before = try FileManager.default.attributesOfItem(atPath: trainURL.path)
    // Same bytes, new name, dropped again: same snapshot, nothing rewritten, inbox emptied.
    try write(content, ws.inbox.appendingPathComponent("qa-again.jsonl"))
    let second = try Ingestor(workspace: ws).ingest([ws.inbox.appendingPathComponent("qa-again.jsonl")], options: IngestOptions(task: "qa"))
    #expect(second.reused && second.sha256 == first.sha256 && second.stats == first.stats)
    let after = try FileManager.default.attributesOfItem(atPath: trainURL.path)
    #expect(after[.systemFileNumber] as? Int == before[.systemFileNumber] as? Int)
    #expect(after[.modificationDate] as? Date == before[.modificationDate] as? Date)
    #expect(files(in: ws.inbox).isEmpty)
    #expect(files(in: ws.archive) == [first.archived[0].lastPathComponent])
    // A different eval fraction is a different snapshot.
    let outside = root.appendingPathComponent("elsewhere/qa.jsonl")
    try write(content, outside)
    let third = try Ingestor(workspace: ws).ingest([outside], options: IngestOptions(evalFraction: 0.3))
    #expect(!third.reused && third.sha256 != first.sha256)
    // A file outside the inbox is copied, never moved.
    #expect(try String(contentsOf: outside, encoding: .utf8) == content)
}

@Test func splitIsStableUnderReorderingAndAppendingAndFollowsTheRecordHash() throws {
    let root = try scratchFolder("ingest")
    defer { try? FileManager.default.removeItem(at: root) }
    let ws = IngestWorkspace(root: root)
    var rng = TestRNG(seed: 5)
    let records = (0 ..< 1000).map { i in (prompt: "question \(i) \(UInt32.random(in: 0 ... .max, using: &rng))", completion: "answer  \(i)") }
    func jsonl(_ rows: [(prompt: String, completion: String)]) -> String {
        rows.map { #"{"prompt": "\#($0.prompt)", "completion": "\#($0.completion)"}"# }.joined(separator: "\n")
    }
    let a = root.appendingPathComponent("in/a.jsonl")
    try write(jsonl(records), a)
    let first = try Ingestor(workspace: ws).ingest([a], options: IngestOptions(task: "t", evalFraction: 0.25))
    let evalA = Set(try Snapshot(first.snapshot).examples(.eval).map(\.prompt))
    // ±5 sigma of a binomial(1000, 0.25).
    #expect(abs(evalA.count - 250) < 70)

    var shuffled = records
    shuffled.shuffle(using: &rng)
    let extra = (1000 ..< 1129).map { (prompt: "question \($0)", completion: "new") }
    let b = root.appendingPathComponent("in/b.jsonl")
    try write(jsonl(shuffled + extra), b)
    let second = try Ingestor(workspace: ws).ingest([b], options: IngestOptions(task: "t", evalFraction: 0.25))
    let evalB = Set(try Snapshot(second.snapshot).examples(.eval).map(\.prompt))
    let originalPrompts = Set(records.map(\.prompt))
    #expect(evalB.intersection(originalPrompts) == evalA)

    // Independent check of the rule with Python's hashlib: normalise white space, hash
    // "<len(prompt)>:<prompt><completion>", first 64 bits / 2^64 < fraction.
    let listing = root.appendingPathComponent("records.json")
    try write(JSONWriter.serialize(.array(records.map { .array([.string($0.prompt), .string($0.completion)]) })), listing)
    let out = try runPython("""
    import hashlib, json, sys
    for p, c in json.load(open(sys.argv[1])):
        p = ' '.join(p.split()).encode(); c = ' '.join(c.split()).encode()
        h = hashlib.sha256(str(len(p)).encode() + b':' + p + c).digest()
        if (int.from_bytes(h[:8], 'big') >> 11) / 2**53 < 0.25: print(p.decode())
    """, arguments: [listing.path])
    #expect(Set(out.split(separator: "\n").map(String.init)) == evalA)
}

@Test func unusableFilesGoToQuarantineWholeWithAReason() throws {
    let root = try scratchFolder("ingest")
    defer { try? FileManager.default.removeItem(at: root) }
    let ws = IngestWorkspace(root: root)
    let good = ws.inbox.appendingPathComponent("mix.jsonl")
    try write(#"{"text": "fine"}"#, good)
    let sheet = ws.inbox.appendingPathComponent("sheet.xlsx")
    let sheetBytes: [UInt8] = [0x50, 0x4B, 0x03, 0x04, 0x00, 0xFF]
    try write(sheetBytes, sheet)
    let allBad = ws.inbox.appendingPathComponent("broken.jsonl")
    try write("not json\n{\"prompt\": 1}\n", allBad)
    let badHeader = ws.inbox.appendingPathComponent("cols.csv")
    try write("a,b\n1,2\n", badHeader)
    let target = root.appendingPathComponent("secret.txt")
    try write("outside the workspace", target)
    let link = ws.inbox.appendingPathComponent("link.txt")
    try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)

    let result = try Ingestor(workspace: ws).ingest([good, sheet, allBad, badHeader, link], options: IngestOptions(task: "mix"))
    #expect(result.stats.records == 1)
    #expect(result.quarantined.map(\.destination.lastPathComponent) == ["sheet.xlsx", "link.txt", "broken.jsonl", "cols.csv"])
    #expect(Array(try Data(contentsOf: ws.quarantine.appendingPathComponent("sheet.xlsx"))) == sheetBytes)
    let reason = try String(contentsOf: ws.quarantine.appendingPathComponent("broken.jsonl.reason"), encoding: .utf8)
    #expect(reason.contains("all 2 rows were rejected") && reason.contains("broken.jsonl:1: bad JSON") && reason.contains("broken.jsonl:2:"))
    #expect(try String(contentsOf: ws.quarantine.appendingPathComponent("cols.csv.reason"), encoding: .utf8)
        .contains("column") )
    #expect(try String(contentsOf: ws.quarantine.appendingPathComponent("sheet.xlsx.reason"), encoding: .utf8)
        .contains("unsupported file type \".xlsx\""))
    #expect(FilePlacement.isSymbolicLink(ws.quarantine.appendingPathComponent("link.txt")))
    #expect(try String(contentsOf: target, encoding: .utf8) == "outside the workspace")
    #expect(files(in: ws.inbox).isEmpty)
    #expect(result.stats.sources.map(\.status) == [.ingested, .quarantined, .quarantined])

    // Nothing usable at all: an error, and the file is still kept whole in the quarantine.
    let lone = ws.inbox.appendingPathComponent("empty.txt")
    try write("\n\n  \n", lone)
    #expect(throws: IngestError.self) { try Ingestor(workspace: ws).ingest([lone]) }
    #expect(try String(contentsOf: ws.quarantine.appendingPathComponent("empty.txt"), encoding: .utf8) == "\n\n  \n")
    #expect(throws: IngestError.badTaskName("bad name")) {
        try Ingestor(workspace: ws).ingest([good], options: IngestOptions(task: "bad name"))
    }
}

@Test func duplicatesAcrossFilesAndCSVInput() throws {
    let root = try scratchFolder("ingest")
    defer { try? FileManager.default.removeItem(at: root) }
    let ws = IngestWorkspace(root: root)
    let csv = root.appendingPathComponent("src/dates.csv")
    try write("question,answer\r\n\"When?\",\"Now\"\r\nWhere?,Here\r\n", csv)
    let jsonl = root.appendingPathComponent("src/more.jsonl")
    try write(#"{"prompt": "When? ", "completion": "Now"}"# + "\n" + #"{"prompt": "Who?", "completion": "Me"}"#, jsonl)
    let options = IngestOptions(task: "dates", reader: ReaderOptions(columns: try ColumnMapping.parse("prompt=question,completion=answer")))
    // The mapping applies to both files; the JSONL uses other keys, so its rows miss "question".
    let mixed = try Ingestor(workspace: ws).ingest([csv, jsonl], options: options)
    #expect(mixed.stats.records == 2 && mixed.quarantined.count == 1)
    let plain = try Ingestor(workspace: ws).ingest([csv, jsonl], options: IngestOptions(task: "dates2"))
    #expect(plain.quarantined.count == 1) // the CSV has no standard columns without a mapping
    let both = try Ingestor(workspace: ws).ingest(
        [jsonl, ws.archive.appendingPathComponent(mixed.archived[0].lastPathComponent)],
        options: IngestOptions(task: "dates3", format: nil, reader: ReaderOptions()))
    #expect(both.stats.records == 2)
    let twice = try Ingestor(workspace: ws).ingest([jsonl, jsonl], options: IngestOptions(task: "dup"))
    #expect(twice.stats.records == 2 && twice.stats.duplicates == 2)
    #expect(twice.stats.sources.map(\.duplicates) == [0, 2])
}
