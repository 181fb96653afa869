import Foundation

/// Counts distinct pre-tokens (as bytes) for BPE training: open addressing over one byte arena,
/// growing as needed, so millions of words cost no per-word allocation.
struct WordCounter {
    private var slots: [Int32] // index into entries, -1 empty
    private var hashes: [UInt64] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private(set) var counts: [Int] = []
    private var arena: [UInt8] = []

    init() {
        slots = [Int32](repeating: -1, count: 1 << 16)
    }

    var distinct: Int { counts.count }

    mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int, count: Int = 1) {
        let h = WordCache.hash(p, n)
        var mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h >> 20) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { break }
            if hashes[e] == h, Int(lengths[e]) == n,
               arena.withUnsafeBufferPointer({ memcmp($0.baseAddress! + Int(starts[e]), p, n) }) == 0
            {
                counts[e] += count
                return
            }
            i = (i + 1) & mask
        }
        slots[i] = Int32(counts.count)
        hashes.append(h)
        starts.append(Int32(arena.count))
        lengths.append(Int32(n))
        counts.append(count)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        if counts.count * 2 > slots.count {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            mask = slots.count - 1
            for (e, h) in hashes.enumerated() {
                var j = Int(truncatingIfNeeded: h >> 20) & mask
                while slots[j] >= 0 { j = (j + 1) & mask }
                slots[j] = Int32(e)
            }
        }
    }

    /// Adds every word of `other` (for merging per-thread counts).
    mutating func add(_ other: WordCounter) {
        other.arena.withUnsafeBufferPointer { a in
            for e in 0 ..< other.counts.count {
                add(a.baseAddress! + Int(other.starts[e]), Int(other.lengths[e]), count: other.counts[e])
            }
        }
    }

    func forEach(_ body: (ArraySlice<UInt8>, Int) -> Void) {
        for e in 0 ..< counts.count {
            body(arena[Int(starts[e]) ..< Int(starts[e] + lengths[e])], counts[e])
        }
    }
}
