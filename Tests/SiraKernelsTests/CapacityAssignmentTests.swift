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
        let got = assignExperts(choices: choices, gates: gates, tokenCount: tokens, k: k, experts: experts, capacity: capacity)
        let ref = Self.bruteForce(choices, gates, tokens: tokens, k: k, experts: experts, capacity: capacity)
        #expect(got.offsets.count == experts + 1 && got.offsets[0] == 0)
        for e in 0..<experts {
            let range = got.offsets[e]..<got.offsets[e + 1]
            #expect(range.count == ref.lists[e].count, "expert \(e) count")
            #expect(got.count(expert: e) == ref.lists[e].count)
            if range.count == ref.lists[e].count {
                for (i, at) in range.enumerated() {
                    #expect(got.tokens[at] == ref.lists[e][i].0 && got.slots[at] == ref.lists[e][i].1 && got.gates[at] == ref.lists[e][i].2,
                            "expert \(e) entry \(i)")
                }
            }
        }
        #expect(got.counts[5] == 0 && got.counts[6] == 0)
        #expect(got.droppedTokens == ref.dropped.map(\.0) && got.droppedSlots == ref.dropped.map(\.1))
        #expect(got.tokens.count + got.droppedTokens.count == tokens * k)
    }

    @Test("hand-worked example: second choices lose to later tokens' first choices")
    func handWorked() {
        // token0 -> (0, 1), token1 -> (1, 0), token2 -> (1, 2); capacity 1.
        let choices: [Int32] = [0, 1, 1, 0, 1, 2]
        let gates: [Float] = [0.6, 0.4, 0.7, 0.3, 0.5, 0.5]
        let a = assignExperts(choices: choices, gates: gates, tokenCount: 3, k: 2, experts: 4, capacity: 1)
        #expect(a.offsets == [0, 1, 2, 3, 3])
        #expect(a.tokens == [0, 1, 2] && a.slots == [0, 0, 1] && a.gates == [0.6, 0.7, 0.5])
        #expect(a.droppedTokens == [2, 0, 1] && a.droppedSlots == [0, 1, 1])
    }
}
