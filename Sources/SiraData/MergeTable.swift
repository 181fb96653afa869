/// The merge rules as an open-addressing hash table: (left id, right id) → (rank, merged id).
/// Lower rank merges first. Built once, read-only afterwards, shared by all encoding threads.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64] // rank << 32 | merged id
    private let shift: UInt64
    private(set) var count = 0

    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always) static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Adds a rule; an existing pair keeps its first (lowest) rank, as the library does.
    mutating func insert(_ a: Int32, _ b: Int32, rank: Int32, merged: Int32) {
        let k = Self.key(a, b)
        let mask = keys.count - 1
        var i = slot(k)
        while keys[i] != Self.empty {
            if keys[i] == k { return }
            i = (i + 1) & mask
        }
        keys[i] = k
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
    }

    /// rank << 32 | merged id, or UInt64.max when the pair has no rule (so "no rule" sorts last).
    @inline(__always) func lookup(_ a: Int32, _ b: Int32) -> UInt64 {
        let k = Self.key(a, b)
        return keys.withUnsafeBufferPointer { keys in
            let mask = keys.count - 1
            var i = slot(k)
            while true {
                let stored = keys[i]
                if stored == k { return values.withUnsafeBufferPointer { $0[i] } }
                if stored == Self.empty { return UInt64.max }
                i = (i + 1) & mask
            }
        }
    }
}
