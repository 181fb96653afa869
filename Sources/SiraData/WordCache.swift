import Foundation

/// Pre-token bytes → token ids, so a word met again is not merged again. Open addressing over
/// flat arenas in manually allocated memory (no per-entry allocation, no bounds or uniqueness
/// checks on the hot path); one per encoding thread, never shared. When it holds `maxEntries`
/// words, or its arenas fill, it is emptied and starts over, which bounds its memory.
final class WordCache {
    private struct Slot {
        var hash: UInt64
        var keyStart: Int32
        var keyLength: Int32 // -1: empty
        var valueStart: Int32
        var valueLength: Int32
    }

    private let slots: UnsafeMutablePointer<Slot>
    private let mask: Int
    private let maxEntries: Int
    private let keyCapacity: Int
    private let valueCapacity: Int
    private let keyBytes: UnsafeMutablePointer<UInt8>
    private let valueIDs: UnsafeMutablePointer<Int32>
    private var keyUsed = 0
    private var valueUsed = 0
    private var count = 0

    init(maxEntries: Int = 1 << 16, averageWordBytes: Int = 16) {
        self.maxEntries = maxEntries
        var size = 16
        while size < maxEntries * 2 { size <<= 1 }
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: Slot(hash: 0, keyStart: 0, keyLength: -1, valueStart: 0, valueLength: 0), count: size)
        keyCapacity = maxEntries * averageWordBytes
        valueCapacity = maxEntries * averageWordBytes / 2
        keyBytes = .allocate(capacity: keyCapacity)
        valueIDs = .allocate(capacity: valueCapacity)
    }

    deinit {
        slots.deallocate()
        keyBytes.deallocate()
        valueIDs.deallocate()
    }

    @inline(__always) static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(n)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        return h &* 0xBF58_476D_1CE4_E5B9 | 1
    }

    /// Appends the cached ids of `p[0..<n]` to `out` and returns true, or returns false.
    @inline(__always) func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, into out: inout [Int32]) -> Bool {
        var i = Int(truncatingIfNeeded: h >> 20) & mask
        while true {
            let slot = slots[i]
            if slot.keyLength < 0 { return false }
            if slot.hash == h, Int(slot.keyLength) == n, memcmp(keyBytes + Int(slot.keyStart), p, n) == 0 {
                out.append(contentsOf: UnsafeBufferPointer(start: valueIDs + Int(slot.valueStart), count: Int(slot.valueLength)))
                return true
            }
            i = (i + 1) & mask
        }
    }

    /// Remembers the ids of a word (words too long for the arenas are not cached).
    func insert(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, ids: ArraySlice<Int32>) {
        guard n <= keyCapacity / 64, ids.count <= valueCapacity / 64 else { return }
        if count >= maxEntries || keyUsed + n > keyCapacity || valueUsed + ids.count > valueCapacity { clear() }
        var i = Int(truncatingIfNeeded: h >> 20) & mask
        while slots[i].keyLength >= 0 { i = (i + 1) & mask }
        slots[i] = Slot(hash: h, keyStart: Int32(keyUsed), keyLength: Int32(n), valueStart: Int32(valueUsed), valueLength: Int32(ids.count))
        (keyBytes + keyUsed).update(from: p, count: n)
        ids.withUnsafeBufferPointer { if let b = $0.baseAddress { (valueIDs + valueUsed).update(from: b, count: $0.count) } }
        keyUsed += n
        valueUsed += ids.count
        count += 1
    }

    private func clear() {
        for i in 0 ... mask { slots[i].keyLength = -1 }
        keyUsed = 0
        valueUsed = 0
        count = 0
    }
}
