import SiraIO
import Foundation
import Testing
@testable import SiraModel

/// A tiny Llama with awkward sizes: head_dim (6) ≠ hidden/heads, GQA (4 heads over 2 KV heads).
func tinyConfig(tied: Bool, layers: Int = 2, vocab: Int = 37) -> LlamaConfig {
    LlamaConfig(hiddenSize: 20, intermediateSize: 28, numHiddenLayers: layers, numAttentionHeads: 4,
                numKeyValueHeads: 2, headDim: 6, vocabSize: vocab, rmsNormEps: 1e-5, ropeTheta: 100,
                tieWordEmbeddings: tied, maxPositionEmbeddings: 64)
}

/// A model whose weights are large enough that every path (attention, SwiGLU, norms) is well
/// away from linear, so gradient checks exercise the real curvature.
func tinyModel(tied: Bool, seed: UInt64, layers: Int = 2) -> LlamaModel {
    let model = LlamaModel(config: tinyConfig(tied: tied, layers: layers), seed: seed)
    var rng = Xoshiro256(seed: seed &+ 99)
    for p in model.parameters {
        for i in 0..<p.value.count {
            let r = Float(rng.nextNormal())
            p.value[i] = p.shape.count == 1 ? 1 + 0.2 * r : (p.name.contains("embed") ? 1.0 : 0.35) * r
        }
    }
    model.threads = 2
    return model
}

func randomBatch(batch: Int, seq: Int, vocab: Int, seed: UInt64) -> TokenBatch {
    var rng = Xoshiro256(seed: seed)
    let n = batch * seq
    let tokens = (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) }
    let targets = (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) }
    // Unscored positions, a fractional weight, and an ignored out-of-range target under mask 0.
    var mask = (0..<n).map { _ in rng.nextUnit() < 0.2 ? Float(0) : 1 }
    mask[1] = 0.5
    mask[0] = 0
    var t = targets
    t[0] = -1
    return TokenBatch(batch: batch, seq: seq, tokens: tokens, targets: t, lossMask: mask)
}

/// A dense test adapter `y += x Mᵀ` with an auxiliary loss `c·Σ M²`: enough to check that the
/// model calls the hook in forward and backward with the right tensors and adds aux losses.
final class ProbeAdapter: ProjectionAdapter {
    let inFeatures: Int
    let outFeatures: Int
    let matrix: Parameter
    let auxWeight: Float
    var forwardCalls = 0
    var lastMode: AdapterMode?

    init(name: String, inFeatures: Int, outFeatures: Int, seed: UInt64, auxWeight: Float = 0.05) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.auxWeight = auxWeight
        matrix = Parameter(name: name, value: Tensor(shape: [outFeatures, inFeatures]), trainable: true)
        var rng = Xoshiro256(seed: seed)
        for i in 0..<matrix.value.count { matrix.value[i] = Float(rng.nextNormal()) * 0.3 }
    }

    var parameters: [Parameter] { [matrix] }
    var auxiliaryLoss: Float {
        var s: Double = 0
        for i in 0..<matrix.value.count { s += Double(matrix.value[i] * matrix.value[i]) }
        return auxWeight * Float(s)
    }

    func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, tokens: Int, mode: AdapterMode) {
        forwardCalls += 1
        lastMode = mode
        for t in 0..<tokens {
            for o in 0..<outFeatures {
                var s: Float = 0
                for i in 0..<inFeatures { s += x[t * inFeatures + i] * matrix.value[o * inFeatures + i] }
                y[t * outFeatures + o] += s
            }
        }
    }

    func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, tokens: Int) {
        let w = matrix.value, g = matrix.grad
        for t in 0..<tokens {
            for o in 0..<outFeatures {
                let d = dy[t * outFeatures + o]
                for i in 0..<inFeatures {
                    dx[t * inFeatures + i] += d * w[o * inFeatures + i]
                    g?[o * inFeatures + i] += d * x[t * inFeatures + i]
                }
            }
        }
        if let g { for i in 0..<w.count { g[i] += 2 * auxWeight * w[i] } }
    }
}

func scratchFolder(_ tag: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("siramodel-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `python3` (found on PATH) with the given arguments; fails the test with its stderr if it
/// is missing or exits non-zero. Reference checks never skip silently.
func runPython(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw PythonFailure(message: "python3 \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
            + (String(data: errData, encoding: .utf8) ?? ""))
    }
}

struct PythonFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

let fixturesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
