import SiraIO
import Foundation
import Testing
@testable import SiraData

private func randomExamples(_ n: Int, vocab: Int, rng: inout TestRNG) -> [TokenizedExample] {
    (0 ..< n).map { _ in
        let len = Int.random(in: 1 ... 40, using: &rng)
        let tokens = (0 ..< len).map { _ in Int32.random(in: 0 ..< Int32(vocab), using: &rng) }
        let scoredFrom = Int.random(in: 0 ... len, using: &rng)
        return TokenizedExample(tokens: tokens, mask: (0 ..< len).map { $0 >= scoredFrom ? 1 : 0 })
    }
}

@Test func splitMix64MatchesItsReferenceAndPermutationsAreStable() {
    var rng = SplitMix64(seed: 0)
    // Reference outputs of SplitMix64 from state 0 (Vigna's splitmix64.c).
    #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
    #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
    for n in [1, 7, 33, 129] {
        let p = SeededShuffle.permutation(count: n, seed: 42, epoch: 3)
        #expect(p.sorted() == Array(0 ..< n))
        #expect(p == SeededShuffle.permutation(count: n, seed: 42, epoch: 3))
    }
    #expect(SeededShuffle.permutation(count: 129, seed: 42, epoch: 0) != SeededShuffle.permutation(count: 129, seed: 42, epoch: 1))
    #expect(SeededShuffle.permutation(count: 129, seed: 42, epoch: 0) != SeededShuffle.permutation(count: 129, seed: 43, epoch: 0))
}

@Test func shardRoundTripsAndPythonReadsTheFiles() throws {
    let dir = try scratchFolder("shard")
    defer { try? FileManager.default.removeItem(at: dir) }
    var rng = TestRNG(seed: 8)
    for (n, vocab) in [(1, 300), (7, 65536), (33, 65537), (129, 100_000)] {
        let examples = randomExamples(n, vocab: vocab, rng: &rng)
        let folder = dir.appendingPathComponent("s\(n)")
        let writer = try TokenShardWriter(folder: folder, vocabSize: vocab, tokenizerSHA256: "abc")
        for e in examples { try writer.append(e) }
        let info = try writer.finish()
        #expect(info.dtype == (vocab <= 65536 ? .uint16 : .uint32))
        #expect(info.tokens == examples.reduce(0) { $0 + $1.tokens.count })
        #expect(info.scoredTokens == examples.reduce(0) { $0 + $1.mask.reduce(0) { $0 + Int($1) } })
        let shard = try TokenShard(folder)
        #expect(shard.count == n && shard.info == info)
        #expect((0 ..< n).map { shard[$0] } == examples)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }.isEmpty)
        // numpy reads the same tokens, masks and offsets from the raw files.
        let out = try runPython("""
        import json, sys, numpy as np
        d = sys.argv[1]; info = json.load(open(d + '/shard.json'))
        t = np.fromfile(d + '/tokens.bin', dtype='<u2' if info['dtype'] == 'uint16' else '<u4')
        m = np.fromfile(d + '/mask.bin', dtype=np.uint8)
        o = np.fromfile(d + '/index.bin', dtype='<u8')
        print(json.dumps([[t[o[i]:o[i+1]].tolist(), m[o[i]:o[i+1]].tolist()] for i in range(len(o) - 1)]))
        """, arguments: [folder.path])
        let parsed = try JSONParser.parse(out).arrayValue!.map { pair in
            TokenizedExample(tokens: pair.arrayValue![0].arrayValue!.map { Int32($0.intValue!) },
                             mask: pair.arrayValue![1].arrayValue!.map { UInt8($0.intValue!) })
        }
        #expect(parsed == examples)
    }
    // Damaged shards are refused.
    let folder = dir.appendingPathComponent("s7")
    try write([0, 1, 2], folder.appendingPathComponent("mask.bin"))
    #expect(throws: TokenShardError.self) { try TokenShard(folder) }
    let writer = try TokenShardWriter(folder: dir.appendingPathComponent("bad"), vocabSize: 10)
    #expect(throws: TokenShardError.tokenOutOfRange(10, 10)) { try writer.append(tokens: [10], mask: [1]) }
}

/// The reference batcher: builds rows from plain arrays, independently of the shard reader.
private func referenceRows(_ examples: [TokenizedExample], rows: Int, width: Int, packing: ShardBatcher.Packing,
                           seed: UInt64, pad: Int32) -> [([Int32], [UInt8], [Int])]
{
    var out: [([Int32], [UInt8], [Int])] = []
    var epoch = 0
    var order = SeededShuffle.permutation(count: examples.count, seed: seed, epoch: 0)
    var position = 0
    var offset = 0
    func advance() {
        position += 1
        offset = 0
        if position == examples.count {
            epoch += 1
            position = 0
            order = SeededShuffle.permutation(count: examples.count, seed: seed, epoch: epoch)
        }
    }
    while out.count < rows {
        var tokens: [Int32] = []
        var mask: [UInt8] = []
        var starts: [Int] = []
        while tokens.count < width {
            let e = examples[order[position]]
            if packing == .continuous {
                let take = min(e.tokens.count - offset, width - tokens.count)
                tokens += e.tokens[offset ..< offset + take]
                mask += e.mask[offset ..< offset + take]
                if offset + take == e.tokens.count { advance() } else { offset += take }
                continue
            }
            let take = min(e.tokens.count, width)
            if !tokens.isEmpty, packing == .padded || tokens.count + take > width { break }
            starts.append(tokens.count)
            tokens += e.tokens.prefix(take)
            mask += e.mask.prefix(take)
            advance()
            if packing == .padded { break }
        }
        out.append((tokens + [Int32](repeating: pad, count: width - tokens.count), mask + [UInt8](repeating: 0, count: width - mask.count),
                    packing == .packed ? starts : [0]))
    }
    return out
}

@Test func batcherMatchesTheReferenceInEveryModeAndResumes() throws {
    let dir = try scratchFolder("shard")
    defer { try? FileManager.default.removeItem(at: dir) }
    var rng = TestRNG(seed: 12)
    let examples = randomExamples(33, vocab: 500, rng: &rng)
    let writer = try TokenShardWriter(folder: dir.appendingPathComponent("s"), vocabSize: 500)
    for e in examples { try writer.append(e) }
    try writer.finish()
    let shard = try TokenShard(dir.appendingPathComponent("s"))
    for packing in ShardBatcher.Packing.allCases {
        for (batch, seq) in [(1, 7), (3, 33), (4, 13)] {
            let batcher = try ShardBatcher(shard: shard, batch: batch, seq: seq, packing: packing, seed: 5, padID: 499)
            let steps = 12
            var batches: [ShardBatch] = []
            var cursors: [ShardBatcher.Cursor] = []
            for _ in 0 ..< steps {
                cursors.append(batcher.cursor)
                batches.append(batcher.next())
            }
            let rows = referenceRows(examples, rows: steps * batch, width: seq + 1, packing: packing, seed: 5, pad: 499)
            for (s, b) in batches.enumerated() {
                let expected = rows[s * batch ..< (s + 1) * batch]
                #expect(b.tokens == expected.flatMap { $0.0.prefix(seq) }, "\(packing) \(batch)x\(seq) step \(s)")
                #expect(b.targets == expected.flatMap { $0.0.dropFirst() })
                #expect(b.lossMask == expected.flatMap { $0.1.dropFirst().map(Float.init) })
                // Packed rows: each input's place in its own example (padding continues the
                // last one); none when no row of the batch holds two examples.
                let positions = expected.flatMap { row in (0 ..< seq).map { t in Int32(t - row.2.last { $0 <= t }!) } }
                #expect(b.positions == (expected.contains { $0.2.count > 1 } ? positions : []), "\(packing) \(batch)x\(seq) step \(s)")
            }
            // Restoring a saved cursor replays the same stream.
            let resumed = try ShardBatcher(shard: shard, batch: batch, seq: seq, packing: packing, seed: 5, padID: 499)
            try resumed.restore(cursors[7])
            #expect(resumed.next() == batches[7] && resumed.next() == batches[8])
        }
    }
    let eval = ShardBatcher.evaluationBatches(shard, batch: 4, seq: 50, padID: 499)
    #expect(eval.map(\.batch) == [4, 4, 4, 4, 4, 4, 4, 4, 1])
    #expect(eval.flatMap { b in (0 ..< b.batch).map { Array(b.tokens[$0 * 50 ..< $0 * 50 + 50]) } }.enumerated().allSatisfy { i, row in
        Array(row.prefix(examples[i].tokens.count)) == examples[i].tokens
    })
}

@Test func snapshotTokenizesIntoAShard() throws {
    let root = try scratchFolder("shard")
    defer { try? FileManager.default.removeItem(at: root) }
    let file = root.appendingPathComponent("chat.jsonl")
    try write((0 ..< 129).map { #"{"messages": [{"role": "user", "content": "question \#($0)?"}, {"role": "assistant", "content": "answer \#($0 * 7)"}]}"# }
        .joined(separator: "\n"), file)
    let result = try Ingestor(root: root).ingest([file], options: IngestOptions(evalFraction: 0.2))
    let snapshot = try Snapshot(result.snapshot)
    let tokenizer = BPETokenizer.train(texts: try snapshot.examples(.train).map { $0.prompt + $0.completion }, vocabSize: 400)
    let folder = root.appendingPathComponent("shards/train")
    let info = try TokenShardWriter.write(snapshot: snapshot, split: .train, tokenizer: tokenizer, to: folder)
    #expect(info.examples == result.stats.train && info.tokenizerSHA256 == tokenizer.contentHash)
    let shard = try TokenShard(folder)
    let expected = try snapshot.examples(.train).map { tokenizer.encode($0) }
    #expect((0 ..< shard.count).map { shard[$0] } == expected)
    #expect(expected[0].tokens.first == Int32(tokenizer.bosID) && expected[0].tokens.last == Int32(tokenizer.eosID))
    #expect(tokenizer.decode(expected[0].tokens.map(Int.init)).hasPrefix("<|bos|><|user|>question"))
}
