import Testing
@testable import SiraKernels

struct CapacityAssignmentTests {
    /// Independent transcription of GShard's rule: walk (slot, token) in that order, keep a list per expert.
    static func bruteForce(_ choices: [Int32], _ gates: [Float], tokens: Int, k: Int, experts: Int, capacity: Int?)
        -> (lists: [[(Int32, Int32, Float)]], dropped: [(Int32, Int32)]) {
        var lists = [[(Int32, Int32, Float)]](repeating: [], count: experts)
        var dropped: [(Int32, Int32)] = []
        for s in 0..<k {
            for t in 0..<tokens {
                let e = Int(choices[t * k + s])
                if capacity == nil || lists[e].count < capacity! {
                    lists[e].append((Int32(t), Int32(s), gates[t * k + s]))
                } else {
                    dropped.append((Int32(t), Int32(s)))
                }
            }
        }
        return (lists, dropped)
    }

    @Test("matches brute force over capacities, including 0, unlimited, and experts nobody picks",
          arguments: [0, 1, 3, 8, -1])
    func bruteForceComparison(capacityArg: Int) {
        let capacity: Int? = capacityArg < 0 ? nil : capacityArg
        var rng = TestRNG(seed: UInt64(capacityArg + 10))
        let tokens = 33, k = 2, experts = 7
        // Experts 5 and 6 are never chosen; 0 is heavily preferred; top-k values with ties.
        let logits = (0..<(tokens * 5)).map { i in i % 5 == 0 ? 2 : Float(rng.int(0..<3)) }
        var choices = [Int32](repeating: 0, count: tokens * k), gates = [Float](repeating: 0, count: tokens * k)
        topKRows(logits, rows: tokens, cols: 5, k: k, indices: &choices, values: &gates)
        let got = RoutingPlan(tokens: tokens, k: k, experts: experts, choices: choices, gates: gates,
                              capacity: capacity, dropout: nil)
        let ref = Self.bruteForce(choices, gates, tokens: tokens, k: k, experts: experts, capacity: capacity)
        #expect(got.rowOffsets.count == experts + 1 && got.rowOffsets[0] == 0)
        for e in 0..<experts {
            let range = got.rowOffsets[e]..<got.rowOffsets[e + 1]
            #expect(range.count == ref.lists[e].count, "expert \(e) count")
            if range.count == ref.lists[e].count {
                for (i, at) in range.enumerated() {
                    let a = Int(got.rowAssignment[at])
                    #expect(Int32(a / k) == ref.lists[e][i].0 && Int32(a % k) == ref.lists[e][i].1
                            && got.gates[a] == ref.lists[e][i].2 && got.rowToken[at] == Int32(a / k)
                            && got.slotRow[a] == Int32(at), "expert \(e) entry \(i)")
                }
            }
        }
        #expect(got.rowOffsets[6] == got.rowOffsets[7] && got.rowOffsets[5] == got.rowOffsets[6])
        #expect(got.dropped == ref.dropped.count)
        for (t, s) in ref.dropped {
            let a = Int(t) * k + Int(s)
            #expect(!got.granted[a] && got.keep[a] == 0 && got.slotRow[a] == -1)
        }
        #expect(got.rows + got.dropped == tokens * k)
    }

    @Test("dropout: a dropped-out assignment keeps its place under capacity but is not computed")
    func dropout() {
        // token0 -> (0, 1), token1 -> (0, 1), token2 -> (0, 2); capacity 2; assignment 0 dropped out.
        let choices: [Int32] = [0, 1, 0, 1, 0, 2]
        let gates: [Float] = [0.6, 0.4, 0.7, 0.3, 0.5, 0.5]
        let plan = RoutingPlan(tokens: 3, k: 2, experts: 3, choices: choices, gates: gates, capacity: 2,
                               dropout: { $0 == 0 ? 0 : 2 })
        #expect(plan.granted == [true, true, true, true, false, true])
        #expect(plan.keep == [0, 2, 2, 2, 0, 2])
        #expect(plan.dropped == 1)
        #expect(plan.rowOffsets == [0, 1, 3, 4])
        #expect(plan.rowAssignment == [2, 1, 3, 5] && plan.rowToken == [1, 0, 1, 2])
        #expect(plan.slotRow == [-1, 1, 0, 2, -1, 3])
    }

    @Test("hand-worked example: second choices lose to later tokens' first choices")
    func handWorked() {
        // token0 -> (0, 1), token1 -> (1, 0), token2 -> (1, 2); capacity 1.
        let choices: [Int32] = [0, 1, 1, 0, 1, 2]
        let gates: [Float] = [0.6, 0.4, 0.7, 0.3, 0.5, 0.5]
        let a = RoutingPlan(tokens: 3, k: 2, experts: 4, choices: choices, gates: gates, capacity: 1, dropout: nil)
        #expect(a.rowOffsets == [0, 1, 2, 3, 3])
        #expect(a.rowAssignment == [0, 2, 5] && a.keep == [1, 0, 1, 0, 0, 1])
        #expect(a.granted == [true, false, true, false, false, true] && a.dropped == 3)
    }
}
