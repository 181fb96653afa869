import Foundation
import Testing
@testable import SiraKernels
@testable import SiraModel

/// Hostile numbers (issue 16, item 2): NaN logits keep every loop inside its row, and a weight file
/// holding NaN or infinity is refused at load, naming the tensor.
@Suite struct NonFiniteInputTests {
    /// Rows of awkward widths, each all-NaN, half-NaN or holding an infinity: the loss loop ends
    /// (the old arg-max search ran off the row when no element equalled the NaN maximum), counts
    /// the rows, and counts no NaN row as correct.
    @Test(arguments: [1, 7, 33, 129])
    func crossEntropyStaysInItsRowWithNaN(vocab: Int) {
        let rows = 3
        var logits = [Float](repeating: .nan, count: rows * vocab)
        for j in stride(from: 0, to: vocab, by: 2) { logits[vocab + j] = Float(j) }  // row 1: numbers and NaN
        logits[2 * vocab + vocab - 1] = .infinity  // row 2: NaN and one +inf
        let targets = [Int32](repeating: Int32(vocab - 1), count: rows)
        let mask = [Float](repeating: 1, count: rows)
        let sums = logits.withUnsafeMutableBufferPointer { z in
            softmaxCrossEntropy(logits: z.baseAddress!, targets: targets, weights: mask, rows: rows, vocab: vocab, gradScale: nil)
        }
        #expect(sums.tokens == rows)
        // Reference: the first index of the largest number, NaN ignored; an all-NaN row has none.
        // Row 1's largest number sits at the target only for odd widths; row 2's +inf always does.
        #expect(sums.correct == 1 + (vocab % 2 == 1 ? 1 : 0))
        #expect(sums.nllSum.isNaN)
    }

    @Test(arguments: [1, 7, 33])
    func topKOfNaNRowsGivesColumnsInRange(cols: Int) {
        let k = min(2, cols)
        let x = [Float](repeating: .nan, count: 2 * cols)
        var indices = [Int32](repeating: -1, count: 2 * k), values = [Float](repeating: 0, count: 2 * k)
        topKRows(x, rows: 2, cols: cols, k: k, indices: &indices, values: &values)
        #expect(indices.allSatisfy { $0 >= 0 && Int($0) < cols })
    }

    @Test func greedySamplingOfNaNLogitsStaysInTheVocabulary() {
        var sampler = TokenSampler(temperature: 0.8, topP: 0.9, seed: 1)
        let logits = [Float](repeating: .nan, count: 7)
        let token = sampler.sample(logits, count: 7)
        #expect((0..<7).contains(token))
        var withNumber = logits
        withNumber[5] = -3
        var greedy = TokenSampler(temperature: 0, topP: 1, seed: 1)
        #expect(greedy.sample(withNumber, count: 7) == 5, "a number beats NaN, as in top-k")
    }

    /// A NaN or an infinity anywhere in a stored tensor fails the load with the file, the tensor
    /// and the element; the adapter is left as it was.
    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteWeightsAreRefusedAtLoadNamingTheTensor(bad: Float) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nonfinite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = AdapterConfig(type: .lora, r: 2, loraAlpha: 4, targetModules: ["q_proj"])
        func makeSet() throws -> AdapterSet {
            let set = try AdapterSet(config: config, seed: 1)
            _ = set.make(layer: 0, module: "q_proj", inFeatures: 7, outFeatures: 7)
            return set
        }
        let saved = try makeSet()
        let victim = try #require(saved.parameters.first { $0.name.contains("lora_B") })
        victim.value.pointer[3] = bad
        let url = folder.appendingPathComponent("adapter.safetensors")
        try AdapterFiles.write(saved, to: url)
        let loaded = try makeSet()
        let before = loaded.parameters.map(\.value.array)
        #expect { try AdapterFiles.load(into: loaded, from: url) } throws: { error in
            let text = "\(error)"
            return text.contains(url.path) && text.contains(victim.name) && text.contains("element 3") && text.contains("finite")
        }
        #expect(loaded.parameters.map(\.value.array) == before)
    }
}
