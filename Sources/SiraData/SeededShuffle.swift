import SiraIO

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
