import SiraIO
import Foundation
@testable import SiraModel

/// A naive SiRA forward in Double that loops over tokens and experts, written from DESIGN.md §5
/// without the adapter's data structures: no gathering, capacity by a brute-force count.
struct SiraReference {
    var y: [Double]
    var granted: [Bool]
    var keep: [Double]
    var choices: [Int]
    var balanceLoss: Double
    var zLoss: Double

    /// Assignment (t, j) is granted iff fewer than C assignments to the same expert come before it
    /// in GShard order (slot-major, then token order). Everything before a full expert was granted,
    /// so counting all earlier assignments is the same as counting earlier grants.
    static func bruteForceGrants(choices: [Int], tokens: Int, k: Int, capacity: Int?) -> [Bool] {
        (0..<(tokens * k)).map { a in
            guard let capacity else { return true }
            let (t, j) = (a / k, a % k)
            var earlier = 0
            for j2 in 0...j {
                for t2 in 0..<tokens where (j2 < j || t2 < t) && choices[t2 * k + j2] == choices[a] { earlier += 1 }
            }
            return earlier < capacity
        }
    }

    init(_ s: SiraAdapter, x: [Float], tokens T: Int, mode: AdapterMode) {
        let (E, k, inF, outF, r) = (s.experts, s.topK, s.inFeatures, s.outFeatures, s.rank)
        let cfg = s.config
        var probs = [[Double]](), lses = [Double]()
        choices = []
        var gates = [Double]()
        for t in 0..<T {
            let logits = (0..<E).map { e in (0..<inF).reduce(0.0) { $0 + Double(s.router.value[e * inF + $1]) * Double(x[t * inF + $1]) } }
            let m = logits.max()!
            let sum = logits.reduce(0.0) { $0 + Foundation.exp($1 - m) }
            let p = logits.map { Foundation.exp($0 - m) / sum }
            probs.append(p)
            lses.append(m + Foundation.log(sum))
            let order = (0..<E).sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
            let top = Array(order.prefix(k))
            choices += top
            let norm = cfg.normalizeGates ? top.reduce(0.0) { $0 + p[$1] } : 1
            gates += top.map { p[$0] / norm }
        }
        let factor: Double? = if case .training = mode { cfg.capacityFactor } else { cfg.evalCapacityFactor }
        let capacity = factor.map { Int(Foundation.ceil($0 * Double(k) * Double(T) / Double(E))) }
        granted = Self.bruteForceGrants(choices: choices, tokens: T, k: k, capacity: capacity)
        keep = granted.map { $0 ? 1 : 0 }
        if case let .training(seed) = mode, cfg.expertDropout > 0 {
            let key = CounterHash.hash(seed, s.dropoutSalt)
            for a in 0..<(T * k) where granted[a] {
                keep[a] = Double(CounterHash.unitFloat(key, UInt64(a))) < cfg.expertDropout ? 0 : 1 / (1 - Double(Float(cfg.expertDropout)))
            }
        }
        let scale = cfg.loraAlpha / Double(r)
        y = [Double](repeating: 0, count: T * outF)
        for t in 0..<T {
            for j in 0..<k where keep[t * k + j] != 0 {
                let e = choices[t * k + j]
                let w = gates[t * k + j] * keep[t * k + j] * scale
                var ax = [Double](repeating: 0, count: r)
                for q in 0..<r { for i in 0..<inF { ax[q] += Double(s.expertA[e].value[q * inF + i]) * Double(x[t * inF + i]) } }
                for o in 0..<outF {
                    var bax = 0.0
                    for q in 0..<r { bax += Double(s.expertB[e].value[o * r + q]) * ax[q] }
                    y[t * outF + o] += w * bax
                }
            }
        }
        var lb = 0.0
        let allChoices = choices
        let firstChoices = (0..<T).map { allChoices[$0 * k] }
        for e in 0..<E {
            let f = Double(firstChoices.filter { $0 == e }.count) / Double(T)
            let P = (0..<T).reduce(0.0) { $0 + probs[$1][e] } / Double(T)
            lb += f * P
        }
        balanceLoss = Double(E) * lb
        zLoss = lses.reduce(0.0) { $0 + $1 * $1 } / Double(T)
    }
}
