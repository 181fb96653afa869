import SiraIO
import SiraKernels
import Foundation
import Testing
@testable import SiraModel

/// SiRA step 2 (capacity in GShard order) and the router's top-k, against SiraReference.
@Suite struct SiraAssignTests {
    @Test(arguments: [(1, 1, 1), (33, 3, 7), (129, 2, 16), (7, 2, 5)])
    func grantsInGShardOrderLikeBruteForce(_ dims: (Int, Int, Int)) {
        let (T, k, E) = dims
        var rng = Xoshiro256(seed: UInt64(T * k * E))
        // Skewed choices so some experts overflow and some receive nothing.
        let choices: [Int32] = (0..<T).flatMap { _ -> [Int32] in
            var picked: [Int32] = []
            while picked.count < k {
                let u = rng.nextUnitFloat()
                let e = Int32(min(E - 1, Int(u * u * Float(E))))
                if !picked.contains(e) { picked.append(e) }
            }
            return picked
        }
        for capacity in [nil, 0, 1, 2, 5, T] as [Int?] {
            let plan = RoutingPlan(tokens: T, k: k, experts: E, choices: choices,
                                   gates: [Float](repeating: 0.5, count: T * k), capacity: capacity, dropout: nil)
            let expected = SiraReference.bruteForceGrants(choices: choices.map(Int.init), tokens: T, k: k, capacity: capacity)
            #expect(plan.granted == expected, "capacity \(String(describing: capacity))")
            for e in 0..<E {
                let ids = plan.rowAssignment[plan.rowOffsets[e]..<plan.rowOffsets[e + 1]].map(Int.init)
                // Each expert's list: its granted assignments, slot-major then token order.
                let want = (0..<(T * k)).filter { expected[$0] && choices[$0] == Int32(e) }
                    .sorted { ($0 % k, $0 / k) < ($1 % k, $1 / k) }
                #expect(ids == want)
                if let capacity { #expect(ids.count <= capacity) }
            }
        }
    }

    @Test func topKBreaksTiesTowardsTheLowerIndex() {
        let probs: [Float] = [0.2, 0.3, 0.3, 0.2,   0.25, 0.25, 0.25, 0.25,   0.1, 0.0, 0.5, 0.4]
        var choices = [Int32](repeating: 0, count: 9), values = [Float](repeating: 0, count: 9)
        topKRows(probs, rows: 3, cols: 4, k: 3, indices: &choices, values: &values)
        #expect(choices == [1, 2, 0,   0, 1, 2,   2, 3, 0])
    }

    @Test func capacityFormula() {
        #expect(SiraAdapter.capacity(factor: 1.25, topK: 2, tokens: 7, experts: 16) == 2)
        #expect(SiraAdapter.capacity(factor: 1.0, topK: 2, tokens: 8, experts: 4) == 4)
        #expect(SiraAdapter.capacity(factor: 1.0, topK: 2, tokens: 129, experts: 16) == 17)
        #expect(SiraAdapter.capacity(factor: nil, topK: 2, tokens: 8, experts: 4) == nil)
        // Evaluated as written in Double, like Python's math.ceil(1.1 * 2 * 10 / 2) == 12.
        #expect(SiraAdapter.capacity(factor: 1.1, topK: 2, tokens: 10, experts: 2) == Int(Foundation.ceil(1.1 * 2.0 * 10.0 / 2.0)))
    }
}
