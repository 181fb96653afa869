import Foundation

/// Counts distinct pre-tokens (as bytes) for BPE training: open addressing over one byte arena,
/// growing as needed, so millions of words cost no per-word allocation.
struct WordCounter {
    private struct Entry {
        var hash: UInt64
        var start: Int32
        var length: Int32
        var count: Int
    }

    private var slots: [Int32] // index into entries, -1 empty
    private var entries: [Entry] = []
    private var arena: [UInt8] = []

    init() {
        slots = [Int32](repeating: -1, count: 1 << 16)
    }

    var distinct: Int { entries.count }

    mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int, count: Int = 1) {
        let h = WordCache.hash(p, n)
        let found: Int = slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                arena.withUnsafeBufferPointer { arena in
                    let mask = slots.count - 1
                    var i = Int(truncatingIfNeeded: h >> 20) & mask
                    while true {
                        let e = Int(slots[i])
                        if e < 0 { return -1 - i }
                        let entry = entries[e]
                        if entry.hash == h, Int(entry.length) == n, memcmp(arena.baseAddress! + Int(entry.start), p, n) == 0 { return e }
                        i = (i + 1) & mask
                    }
                }
            }
        }
        if found >= 0 {
            entries[found].count += count
            return
        }
        slots[-1 - found] = Int32(entries.count)
        entries.append(Entry(hash: h, start: Int32(arena.count), length: Int32(n), count: count))
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        if entries.count * 2 > slots.count {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            let mask = slots.count - 1
            for (e, entry) in entries.enumerated() {
                var j = Int(truncatingIfNeeded: entry.hash >> 20) & mask
                while slots[j] >= 0 { j = (j + 1) & mask }
                slots[j] = Int32(e)
            }
        }
    }

    /// Adds every word of `other` (for merging per-thread counts).
    mutating func add(_ other: WordCounter) {
        other.arena.withUnsafeBufferPointer { a in
            for entry in other.entries {
                add(a.baseAddress! + Int(entry.start), Int(entry.length), count: entry.count)
            }
        }
    }

    func forEach(_ body: (ArraySlice<UInt8>, Int) -> Void) {
        for entry in entries {
            body(arena[Int(entry.start) ..< Int(entry.start + entry.length)], entry.count)
        }
    }
}
