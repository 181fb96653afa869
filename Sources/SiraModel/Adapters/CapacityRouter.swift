import Foundation

/// Top-k selection and GShard-order capacity assignment for one SiRA call (DESIGN.md §5 steps 2–3).
public enum CapacityRouter {
    /// `C = ceil(factor · k · T / E)`, evaluated left to right in Double exactly as written (so that
    /// a Python reference `math.ceil(f * k * T / E)` agrees); nil factor means no limit.
    public static func capacity(factor: Double?, topK: Int, tokens: Int, experts: Int) -> Int? {
        guard let factor else { return nil }
        return Int((factor * Double(topK) * Double(tokens) / Double(experts)).rounded(.up))
    }

    /// The k largest entries of each row of `probs` `[tokens, experts]`, largest first, equal values
    /// in ascending index order. Returns `[tokens * k]` expert indices.
    public static func topK(_ probs: UnsafePointer<Float>, tokens: Int, experts: Int, k: Int) -> [Int32] {
        var choices = [Int32](repeating: 0, count: tokens * k)
        for t in 0..<tokens {
            let row = probs + t * experts
            for j in 0..<k {
                var best = -1
                var bestValue = -Float.infinity
                for e in 0..<experts {
                    var taken = false
                    for i in 0..<j where choices[t * k + i] == Int32(e) { taken = true; break }
                    if taken { continue }
                    if best < 0 || row[e] > bestValue { best = e; bestValue = row[e] }
                }
                choices[t * k + j] = Int32(best)
            }
        }
        return choices
    }

    /// Grants assignments in GShard order: slot 0 of every token in token order, then slot 1, ...;
    /// an expert that already holds `capacity` assignments refuses the rest.
    ///
    /// `choices` is `[tokens * k]` (assignment id `t * k + j`). Returns per assignment whether it
    /// was granted, and per expert the granted assignment ids in grant order (`offsets` has E + 1
    /// entries into `ids`).
    public static func assign(choices: [Int32], tokens: Int, k: Int, experts: Int, capacity: Int?)
        -> (granted: [Bool], offsets: [Int], ids: [Int32]) {
        let limit = capacity ?? Int.max
        var granted = [Bool](repeating: false, count: tokens * k)
        var perExpert = [[Int32]](repeating: [], count: experts)
        for j in 0..<k {
            for t in 0..<tokens {
                let id = t * k + j
                let e = Int(choices[id])
                if perExpert[e].count < limit {
                    perExpert[e].append(Int32(id))
                    granted[id] = true
                }
            }
        }
        var offsets = [0]
        offsets.reserveCapacity(experts + 1)
        var ids: [Int32] = []
        ids.reserveCapacity(tokens * k)
        for e in 0..<experts {
            ids += perExpert[e]
            offsets.append(ids.count)
        }
        return (granted, offsets, ids)
    }
}
