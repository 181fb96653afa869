import Foundation

/// Pre-token bytes → token ids, so a word met again is not merged again. Open addressing over
/// flat arenas (no per-entry allocation); one per encoding thread, never shared. When it holds
/// `maxEntries` words it is emptied and starts over, which bounds memory on endless input.
struct WordCache {
    private var hashes: [UInt64]
    private var keyStart: [Int32]
    private var keyLength: [Int32]
    private var valueStart: [Int32]
    private var valueLength: [Int32]
    private var keyBytes: [UInt8] = []
    private var valueIDs: [Int32] = []
    private var count = 0
    private let maxEntries: Int
    private let mask: Int

    init(maxEntries: Int = 1 << 16) {
        self.maxEntries = maxEntries
        var size = 16
        while size < maxEntries * 2 { size <<= 1 }
        mask = size - 1
        hashes = [UInt64](repeating: 0, count: size)
        keyStart = [Int32](repeating: 0, count: size)
        keyLength = [Int32](repeating: -1, count: size)
        valueStart = [Int32](repeating: 0, count: size)
        valueLength = [Int32](repeating: 0, count: size)
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
            let len = keyLength[i]
            if len < 0 { return false }
            if hashes[i] == h, Int(len) == n {
                let equal = keyBytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + Int(keyStart[i]), p, n) == 0 }
                if equal {
                    let s = Int(valueStart[i])
                    let c = Int(valueLength[i])
                    valueIDs.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[s ..< s + c])) }
                    return true
                }
            }
            i = (i + 1) & mask
        }
    }

    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, ids: ArraySlice<Int32>) {
        if count >= maxEntries || keyBytes.count + n > Int(Int32.max) || valueIDs.count + ids.count > Int(Int32.max) {
            clear()
        }
        var i = Int(truncatingIfNeeded: h >> 20) & mask
        while keyLength[i] >= 0 { i = (i + 1) & mask }
        hashes[i] = h
        keyStart[i] = Int32(keyBytes.count)
        keyLength[i] = Int32(n)
        valueStart[i] = Int32(valueIDs.count)
        valueLength[i] = Int32(ids.count)
        keyBytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        valueIDs.append(contentsOf: ids)
        count += 1
    }

    private mutating func clear() {
        for i in 0 ..< keyLength.count { keyLength[i] = -1 }
        keyBytes.removeAll(keepingCapacity: true)
        valueIDs.removeAll(keepingCapacity: true)
        count = 0
    }
}
