import SiraKernels
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
    /// in ascending index order (the kernels' `topKRows`). Returns `[tokens * k]` expert indices.
    public static func topK(_ probs: UnsafePointer<Float>, tokens: Int, experts: Int, k: Int) -> [Int32] {
        var choices = [Int32](repeating: 0, count: tokens * k)
        var values = [Float](repeating: 0, count: tokens * k)
        choices.withUnsafeMutableBufferPointer { c in
            values.withUnsafeMutableBufferPointer { v in
                topKRows(probs, rows: tokens, cols: experts, k: k, indices: c.baseAddress!, values: v.baseAddress!)
            }
        }
        return choices
    }

    /// Grants assignments in GShard order (the kernels' `assignExperts`): slot 0 of every token in
    /// token order, then slot 1, ...; an expert that already holds `capacity` assignments refuses the rest.
    ///
    /// `choices` is `[tokens * k]` (assignment id `t * k + j`). Returns per assignment whether it
    /// was granted, and per expert the granted assignment ids in grant order (`offsets` has E + 1
    /// entries into `ids`).
    public static func assign(choices: [Int32], tokens: Int, k: Int, experts: Int, capacity: Int?)
        -> (granted: [Bool], offsets: [Int], ids: [Int32]) {
        let zeros = [Float](repeating: 0, count: choices.count)
        let plan = choices.withUnsafeBufferPointer { c in
            zeros.withUnsafeBufferPointer { g in
                assignExperts(choices: c.baseAddress!, gates: g.baseAddress!, tokenCount: tokens, k: k,
                              experts: experts, capacity: capacity)
            }
        }
        var granted = [Bool](repeating: false, count: tokens * k)
        let ids = zip(plan.tokens, plan.slots).map { Int32(Int($0) * k + Int($1)) }
        for id in ids { granted[Int(id)] = true }
        return (granted, plan.offsets, ids)
    }
}
