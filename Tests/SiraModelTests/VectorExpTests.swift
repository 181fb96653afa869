import Foundation
import Testing
@testable import SiraModel

@Test func vectorExpMatchesDoubleExpWithinTwoUlps() {
    var worst: Double = 0
    var x: Float = -87
    while x < 88.2 {
        let v = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0137 })
        let e = exp8(v)
        for i in 0..<8 {
            let want = exp(Double(v[i]))
            worst = max(worst, abs(Double(e[i]) - want) / want)
        }
        x += 0.731
    }
    #expect(worst < 2.5e-7)
    #expect(exp8(SIMD8(repeating: 0)) == SIMD8(repeating: 1))
    #expect(exp8(SIMD8(repeating: -1000)).max() < 1e-37)
    #expect(exp8(SIMD8(repeating: 88)).min() > 1.6e38 && exp8(SIMD8(repeating: 88)).max().isFinite)
}
