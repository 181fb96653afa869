import Foundation

/// The one seeded random number generator of the project (DESIGN.md: SiraIO owns it), used for
/// weight initialisation, sampling, expert dropout, shuffles and benchmark data.
///
/// Everything derives from SplitMix64, whose sequence is fixed by the seed on every platform and
/// Swift version (the standard library's generators make no such promise), so results and the
/// cache keys built on them reproduce:
/// - `SplitMix64`: the plain stream (dataset shuffles).
/// - `Xoshiro256`: xoshiro256** seeded through SplitMix64, a stateful stream whose four-word state
///   the trainer saves and restores.
/// - `CounterHash`: stateless — a value depends only on (key, counter) — so a dropout mask does not
///   depend on the order or the thread in which the assignments are visited.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return CounterHash.mix(state)
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

/// xoshiro256** seeded with four SplitMix64 words. The state lives in a tuple (no array in the
/// hot `next`); `state` shows it as the four words a checkpoint stores.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable, Codable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var m = SplitMix64(seed: seed)
        s = (m.next(), m.next(), m.next(), m.next())
    }

    /// Restores a saved state; four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        s = (state[0], state[1], state[2], state[3])
    }

    public var state: [UInt64] { [s.0, s.1, s.2, s.3] }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits (every value exactly representable in fp32).
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal (Box–Muller; one value per call for a simple, fixed sequence).
    public mutating func nextNormal() -> Double {
        let u1 = 1 - nextUnit()
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    public static func == (a: Xoshiro256, b: Xoshiro256) -> Bool { a.state == b.state }

    private enum CodingKeys: String, CodingKey { case state }

    public init(from decoder: Decoder) throws {
        let words = try decoder.container(keyedBy: CodingKeys.self).decode([UInt64].self, forKey: .state)
        guard let restored = Xoshiro256(state: words) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [CodingKeys.state],
                                                    debugDescription: "xoshiro256 state must be four words, not all zero"))
        }
        self = restored
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

public enum CounterHash {
    /// SplitMix64 step: advances `state` and returns a well-mixed word.
    public static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    /// The SplitMix64 finaliser: a bijective mix of one word.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A word determined by `key` and `counter` alone.
    public static func hash(_ key: UInt64, _ counter: UInt64) -> UInt64 {
        mix(mix(key) &+ counter &* 0x9E37_79B9_7F4A_7C15)
    }

    /// Uniform in [0, 1) from (key, counter), 24 random bits.
    public static func unitFloat(_ key: UInt64, _ counter: UInt64) -> Float {
        Float(hash(key, counter) >> 40) * 0x1p-24
    }

    /// FNV-1a of a string's UTF-8 bytes: a stable per-layer salt (Swift's `hashValue` is randomised per process).
    public static func stableHash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }
}
