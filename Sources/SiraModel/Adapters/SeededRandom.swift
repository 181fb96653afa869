/// Deterministic randomness for adapter initialisation, expert dropout and the trainer.
///
/// Two flavours: `Xoshiro256` is a stateful stream (xoshiro256**, seeded through SplitMix64) whose
/// four-word state the trainer saves and restores; `CounterHash` is stateless — a value depends only
/// on (key, counter) — so a dropout mask does not depend on the order or the thread in which the
/// assignments are visited.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable, Codable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var s = seed
        state = (0..<4).map { _ in CounterHash.splitMix(&s) }
    }

    /// Restores a saved state; four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits (every value exactly representable in fp32).
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

public enum CounterHash {
    /// SplitMix64 step: advances `state` and returns a well-mixed word.
    public static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    /// The SplitMix64 finaliser: a bijective mix of one word.
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
