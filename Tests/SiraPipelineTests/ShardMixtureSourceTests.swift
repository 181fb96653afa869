import Foundation
import SiraData
import SiraModel
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

@Suite struct ShardMixtureSourceTests {
    /// A shard of `count` examples of `length` tokens; token values `base + example·10 + position`,
    /// the first token of each example unscored.
    func shard(_ tw: TempWorkspace, _ name: String, count: Int, length: Int, base: Int32) throws -> TokenShard {
        let folder = tw.url.appendingPathComponent(name)
        let writer = try TokenShardWriter(folder: folder, vocabSize: 60000)
        for e in 0 ..< count {
            let tokens = (0 ..< length).map { base + Int32(e * 10 + $0) }
            try writer.append(tokens: tokens, mask: [0] + [UInt8](repeating: 1, count: length - 1))
        }
        _ = try writer.finish()
        return try TokenShard(folder)
    }

    @Test func oneShardIsExactlyTheShardBatcher() throws {
        let tw = TempWorkspace()
        let a = try shard(tw, "a", count: 13, length: 4, base: 1000)
        let source = try ShardMixtureSource(shards: [a], batch: 3, seq: 7, seed: 5, padID: 0)
        let reference = try ShardBatcher(shard: a, batch: 3, seq: 7, packing: .packed, seed: 5, padID: 0)
        for _ in 0 ..< 9 {
            let b = try source.nextBatch(), r = reference.next()
            #expect(b.tokens == r.tokens && b.targets == r.targets && b.lossMask == r.lossMask)
        }
    }

    /// Pretraining scores every target but padding: the same rows as the adapters' source, with
    /// the prompt positions (mask 0 in the shard) scored too.
    @Test func scoreEveryTokenScoresPromptsButNotPadding() throws {
        let tw = TempWorkspace()
        let a = try shard(tw, "a", count: 5, length: 3, base: 1000)
        let masked = try ShardMixtureSource(shards: [a], batch: 2, seq: 7, seed: 5, padID: 0)
        let all = try ShardMixtureSource(shards: [a], batch: 2, seq: 7, seed: 5, padID: 0, scoreEveryToken: true)
        var sawPrompt = false, sawPad = false
        for _ in 0 ..< 4 {
            let m = try masked.nextBatch(), b = try all.nextBatch()
            #expect(b.tokens == m.tokens && b.targets == m.targets)
            for i in b.targets.indices {
                #expect(b.lossMask[i] == (b.targets[i] == 0 ? 0 : 1))
                if b.targets[i] == 0 { sawPad = true } else if m.lossMask[i] == 0 { sawPrompt = true }
            }
        }
        #expect(sawPrompt && sawPad)
    }

    @Test func rowsComeFromShardsInProportionToTheirTokens() throws {
        let tw = TempWorkspace()
        let a = try shard(tw, "a", count: 25, length: 4, base: 1000) // 100 tokens
        let b = try shard(tw, "b", count: 50, length: 6, base: 20000) // 300 tokens
        let source = try ShardMixtureSource(shards: [a, b], batch: 8, seq: 5, seed: 1, padID: 0)
        var fromA = 0, rows = 0
        for _ in 0 ..< 500 {
            let batch = try source.nextBatch()
            for r in 0 ..< 8 {
                let row = batch.tokens[r * 5 ..< (r + 1) * 5]
                #expect(row.allSatisfy { $0 < 20000 } || row.allSatisfy { $0 == 0 || $0 >= 20000 })
                if row.first! < 20000 { fromA += 1 }
                rows += 1
            }
        }
        // Expected 1/4; 4000 rows give a standard deviation of about 0.007.
        #expect(abs(Double(fromA) / Double(rows) - 0.25) < 0.03)
    }

    /// Temperature T samples task i with probability ∝ tokens_i^(1/T): with 100 and 300 tokens
    /// and T = 2, the share of the small task is 10 / (10 + √300) = 0.3660 (hand-computed), not
    /// 0.25; a huge temperature approaches uniform.
    @Test func temperatureFlattensTheMixtureTowardsUniform() throws {
        let tw = TempWorkspace()
        let a = try shard(tw, "a", count: 25, length: 4, base: 1000) // 100 tokens
        let b = try shard(tw, "b", count: 50, length: 6, base: 20000) // 300 tokens
        func shareOfA(_ temperature: Double) throws -> Double {
            let source = try ShardMixtureSource(shards: [a, b], batch: 8, seq: 5, seed: 3, padID: 0, temperature: temperature)
            var fromA = 0
            for _ in 0 ..< 500 {
                let batch = try source.nextBatch()
                for r in 0 ..< 8 where batch.tokens[r * 5] < 20000 { fromA += 1 }
            }
            return Double(fromA) / 4000
        }
        // 4000 rows: standard deviation about 0.0076.
        #expect(abs(try shareOfA(2) - 0.3660) < 0.03)
        #expect(abs(try shareOfA(1000) - 0.5) < 0.03)
        // The integer weights themselves: exact at T = 1, ratio √3 at T = 2.
        #expect(ShardMixtureSource.cumulativeWeights(tokenCounts: [100, 300, 7], temperature: 1) == [100, 400, 407])
        let w = ShardMixtureSource.cumulativeWeights(tokenCounts: [100, 300], temperature: 2)
        #expect(abs(Double(w[1] - w[0]) / Double(w[0]) - 3.0.squareRoot()) < 1e-9)
    }

    @Test func resumingFromACursorContinuesTheSameStream() throws {
        let tw = TempWorkspace()
        let a = try shard(tw, "a", count: 7, length: 3, base: 1000)
        let b = try shard(tw, "b", count: 11, length: 9, base: 20000)
        let s1 = try ShardMixtureSource(shards: [a, b], batch: 4, seq: 6, seed: 9, padID: 0, packing: .continuous)
        for _ in 0 ..< 13 { _ = try s1.nextBatch() }
        let saved = s1.cursor
        let next = try (0 ..< 6).map { _ in try s1.nextBatch().tokens }
        let s2 = try ShardMixtureSource(shards: [a, b], batch: 4, seq: 6, seed: 9, padID: 0, packing: .continuous)
        try s2.restore(saved)
        #expect(try (0 ..< 6).map { _ in try s2.nextBatch().tokens } == next)
        let json = try JSONEncoder().encode(saved)
        #expect(try JSONDecoder().decode(ShardMixtureSource.Cursor.self, from: json) == saved)
        #expect(throws: StageFailure.self) { try s2.restore(.init(rows: 0, shards: [saved.shards[0]])) }
    }
}
