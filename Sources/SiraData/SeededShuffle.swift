/// SplitMix64: a small, fully specified generator, so shuffles reproduce on every machine and
/// Swift version (the standard library's generators make no such promise).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0), by rejection, so every value is equally likely.
    public mutating func next(below bound: UInt64) -> UInt64 {
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let v = next()
            if v < limit { return v % bound }
        }
    }
}

public enum SeededShuffle {
    /// The visiting order of `count` items in `epoch`: a Fisher–Yates shuffle of 0..<count driven
    /// by SplitMix64 seeded with `seed + epoch·0x9E3779B97F4A7C15` (wrapping). The same (count,
    /// seed, epoch) always gives the same order; each epoch has its own.
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var order = Array(0 ..< count)
        var rng = SplitMix64(seed: seed &+ UInt64(truncatingIfNeeded: epoch) &* 0x9E37_79B9_7F4A_7C15)
        var i = count - 1
        while i > 0 {
            let j = Int(rng.next(below: UInt64(i + 1)))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }
}
