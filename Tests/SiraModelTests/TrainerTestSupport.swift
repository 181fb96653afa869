import SiraIO
import Foundation
@testable import SiraModel

/// A batch of the toy regression task: `rows` inputs and targets.
struct ToyBatch {
    var rows: Int
    var x: [Float]
    var target: [Float]
}

/// Deterministic regression data: row `i` of the stream depends only on (seed, i), so a batch of
/// 2n rows equals two consecutive batches of n rows.
final class ToySource: BatchSource {
    struct Cursor: Codable, Equatable { var row: Int }
    let seed: UInt64, rows: Int, inF: Int, outF: Int
    private(set) var row = 0
    private let teacher: [Float]

    init(seed: UInt64, rows: Int, inF: Int, outF: Int) {
        self.seed = seed; self.rows = rows; self.inF = inF; self.outF = outF
        var rng = Xoshiro256(seed: seed ^ 0xABCD)
        teacher = randomArray(inF * outF, scale: 0.5, rng: &rng)
    }

    func nextBatch() throws -> ToyBatch {
        var x = [Float](), target = [Float]()
        for i in row..<(row + rows) {
            var rng = Xoshiro256(seed: CounterHash.hash(seed, UInt64(i)))
            let xi = randomArray(inF, scale: 1, rng: &rng)
            x += xi
            for o in 0..<outF { target.append((0..<inF).reduce(0) { $0 + teacher[o * inF + $1] * xi[$1] }) }
        }
        row += rows
        return ToyBatch(rows: rows, x: x, target: target)
    }

    var cursor: Cursor { Cursor(row: row) }
    func restore(_ cursor: Cursor) throws { row = cursor.row }
}

/// `y = W0 x + adapter(x)` with a frozen random W0, mean squared error to the target.
final class ToyAdapterModel: TrainableModel {
    let adapterSet: AdapterSet
    let adapters: [any ProjectionAdapter]
    let w0: [Float]
    let inF: Int, outF: Int

    init(config: AdapterConfig, seed: UInt64, inF: Int, outF: Int) throws {
        self.inF = inF; self.outF = outF
        adapterSet = try AdapterSet(config: config, seed: seed)
        adapters = [adapterSet.make(layer: 0, module: "q_proj", inFeatures: inF, outFeatures: outF)]
        var rng = Xoshiro256(seed: 1234)
        w0 = randomArray(outF * inF, scale: 0.3, rng: &rng)
    }

    var trainableParameters: [Parameter] { adapterSet.parameters }
    var routerStatistics: RouterStatistics? { adapterSet.routerStatistics }

    func trainMicroBatch(_ batch: ToyBatch, mode: AdapterMode) -> MicroBatchLoss {
        let T = batch.rows
        var y = [Float](repeating: 0, count: T * outF)
        for t in 0..<T { for o in 0..<outF { for i in 0..<inF { y[t * outF + o] += w0[o * inF + i] * batch.x[t * inF + i] } } }
        let adapter = adapters[0]
        batch.x.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { adapter.forward(x: x.baseAddress!, y: $0.baseAddress!, tokens: T, mode: mode) } }
        var loss: Float = 0
        var dy = [Float](repeating: 0, count: y.count)
        let n = Float(y.count)
        for i in 0..<y.count {
            let d = y[i] - batch.target[i]
            loss += d * d / n
            dy[i] = 2 * d / n
        }
        var dx = [Float](repeating: 0, count: batch.x.count)
        batch.x.withUnsafeBufferPointer { x in
            dy.withUnsafeBufferPointer { g in
                dx.withUnsafeMutableBufferPointer { adapter.backward(x: x.baseAddress!, dy: g.baseAddress!, dx: $0.baseAddress!, tokens: T) }
            }
        }
        let aux = adapterSet.auxiliaryLoss
        return MicroBatchLoss(loss: loss + aux, auxiliary: aux, tokens: T)
    }
}

/// `L = ½ Σ (p − target)²` over a matrix and a vector parameter: gradient `p − target`.
final class QuadraticModel: TrainableModel {
    let matrix = Parameter(name: "m.weight", value: Tensor(shape: [2, 3], values: [1, -2, 3, 0.5, -0.25, 4]), trainable: true)
    let vector = Parameter(name: "v.weight", value: Tensor(shape: [4], values: [0.1, -0.3, 2, 5]), trainable: true)
    let target: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    var trainableParameters: [Parameter] { [matrix, vector] }

    func trainMicroBatch(_ batch: ToyBatch, mode: AdapterMode) -> MicroBatchLoss {
        var loss: Float = 0
        var j = 0
        for p in [matrix, vector] {
            for i in 0..<p.value.count {
                let d = p.value[i] - target[j]
                loss += 0.5 * d * d
                p.grad![i] += d
                j += 1
            }
        }
        return MicroBatchLoss(loss: loss, tokens: 1)
    }
}

func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("sira-trainer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
