import Testing
@testable import SiraKernels

struct RowGatherScatterTests {
    @Test("gather, weighted scatter-add and its backward against references and finite differences")
    func gatherScatter() {
        var rng = TestRNG(seed: 61)
        let rowsIn = 9, dim = 7, count = 13, sld = dim + 2, dld = dim + 1
        let source = rng.floats(rowsIn * sld)
        let indices = (0..<count).map { _ in Int32(rng.int(0..<rowsIn)) }
        var gathered = [Float](repeating: -1, count: count * dld)
        gatherRows(source: source, indices: indices, count: count, dim: dim, destination: &gathered, sourceLD: sld, destinationLD: dld)
        for i in 0..<count {
            for j in 0..<dld {
                #expect(gathered[i * dld + j] == (j < dim ? source[Int(indices[i]) * sld + j] : -1))
            }
        }

        // Weighted scatter: rows of `rows` [count, dim] into out [rowsIn, dim].
        var rows = rng.floats(count * dim), weights = rng.floats(count)
        var out = [Float](repeating: 0.5, count: rowsIn * dim)
        scatterAddRows(source: rows, indices: indices, weights: weights, count: count, dim: dim, destination: &out)
        for r in 0..<rowsIn {
            for j in 0..<dim {
                var ref = 0.5
                for i in 0..<count where Int(indices[i]) == r { ref += Double(weights[i]) * Double(rows[i * dim + j]) }
                #expect(abs(Double(out[r * dim + j]) - ref) <= 1e-6)
            }
        }

        let upstream = rng.floats(rowsIn * dim)
        var dRows = [Float](repeating: 0, count: count * dim), dW = [Float](repeating: 0, count: count)
        scatterAddRowsBackward(source: rows, indices: indices, weights: weights, count: count, dim: dim,
                               dDestination: upstream, dSource: &dRows, dWeights: &dW)
        func loss(_ rows: [Float], _ weights: [Float]) -> Double {
            var out = [Float](repeating: 0, count: rowsIn * dim)
            scatterAddRows(source: rows, indices: indices, weights: weights, count: count, dim: dim, destination: &out)
            return weightedSum(out, upstream)
        }
        let wc = weights
        let fdRows = (0..<rows.count).map { i in finiteDifference(&rows, at: i, h: 1e-2) { loss($0, wc) } }
        let rc = rows
        let fdW = (0..<weights.count).map { i in finiteDifference(&weights, at: i, h: 1e-2) { loss(rc, $0) } }
        expectGradientsMatch(dRows, fdRows, absTol: 5e-4, "scatter dsource")
        expectGradientsMatch(dW, fdW, absTol: 5e-4, "scatter dweights")
    }
}
