/// Applies the merge rules to one pre-token, with the `tokenizers` library's semantics: repeatedly
/// merge the adjacent pair with the lowest rank, the leftmost one among equals, until no adjacent
/// pair has a rule.
///
/// Short words (the vast majority) keep the symbols and the ranks of their adjacent pairs in two
/// small arrays and rescan for the minimum (no hashing after the first pass, only the two
/// neighbours of a merge are looked up again). Long words (over `linearLimit` bytes, e.g. a huge
/// run of letters) use a linked list and a binary heap of (rank, position), so they cost
/// O(n log n), not O(n²).
struct BPEMerger {
    static let linearLimit = 192

    private var symbols: [Int32] = []
    private var ranks: [UInt64] = []
    // Long-word state.
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var heap: [UInt64] = []

    /// Appends the ids of `p[0..<n]` to `out`. `byteIDs[b]` is the id of byte `b` (-1 if the
    /// vocabulary lacks it: then `unknown` is used if set, else the byte is dropped, as the library does).
    mutating func merge(_ p: UnsafePointer<UInt8>, _ n: Int, byteIDs: UnsafePointer<Int32>, unknown: Int32,
                        merges: MergeTable, into out: inout [Int32])
    {
        symbols.removeAll(keepingCapacity: true)
        for i in 0 ..< n {
            let id = byteIDs[Int(p[i])]
            if id >= 0 { symbols.append(id) } else if unknown >= 0 { symbols.append(unknown) }
        }
        if symbols.count < 2 {
            out.append(contentsOf: symbols)
            return
        }
        if symbols.count <= Self.linearLimit {
            mergeLinear(merges, &out)
        } else {
            mergeHeap(merges, &out)
        }
    }

    private mutating func mergeLinear(_ merges: MergeTable, _ out: inout [Int32]) {
        var m = symbols.count
        ranks.removeAll(keepingCapacity: true)
        for i in 0 ..< m - 1 { ranks.append(merges.lookup(symbols[i], symbols[i + 1])) }
        symbols.withUnsafeMutableBufferPointer { sym in
            ranks.withUnsafeMutableBufferPointer { rk in
                while m > 1 {
                    var best = UInt64.max
                    var pos = -1
                    for i in 0 ..< m - 1 where rk[i] < best {
                        best = rk[i]
                        pos = i
                    }
                    if pos < 0 { break }
                    sym[pos] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
                    // Drop symbol pos+1 and pair pos (recomputed below); later pairs shift left.
                    var i = pos + 1
                    while i < m - 1 {
                        sym[i] = sym[i + 1]
                        i += 1
                    }
                    i = pos + 1
                    while i < m - 2 {
                        rk[i] = rk[i + 1]
                        i += 1
                    }
                    m -= 1
                    if pos > 0 { rk[pos - 1] = merges.lookup(sym[pos - 1], sym[pos]) }
                    if pos < m - 1 { rk[pos] = merges.lookup(sym[pos], sym[pos + 1]) }
                }
            }
        }
        out.append(contentsOf: symbols[0 ..< m])
    }

    private mutating func mergeHeap(_ merges: MergeTable, _ out: inout [Int32]) {
        let n = symbols.count
        next = (0 ..< n).map { Int32($0 + 1) }
        next[n - 1] = -1
        prev = (0 ..< n).map { Int32($0 - 1) }
        heap.removeAll(keepingCapacity: true)
        for i in 0 ..< n - 1 {
            let r = merges.lookup(symbols[i], symbols[i + 1])
            if r != UInt64.max { push((r & 0xFFFF_FFFF_0000_0000) | UInt64(i)) }
        }
        while let top = pop() {
            let pos = Int(top & 0xFFFF_FFFF)
            let rank = top >> 32
            let right = Int(next[pos])
            if symbols[pos] < 0 || right < 0 { continue }
            let r = merges.lookup(symbols[pos], symbols[right])
            if r >> 32 != rank { continue } // stale: the pair at pos changed since this was pushed
            symbols[pos] = Int32(truncatingIfNeeded: r & 0xFFFF_FFFF)
            symbols[right] = -1
            let after = next[right]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let left = Int(prev[pos])
            if left >= 0 {
                let lr = merges.lookup(symbols[left], symbols[pos])
                if lr != UInt64.max { push((lr & 0xFFFF_FFFF_0000_0000) | UInt64(left)) }
            }
            if after >= 0 {
                let rr = merges.lookup(symbols[pos], symbols[Int(after)])
                if rr != UInt64.max { push((rr & 0xFFFF_FFFF_0000_0000) | UInt64(pos)) }
            }
        }
        var i = 0
        while i >= 0 {
            out.append(symbols[i])
            i = Int(next[i])
        }
    }

    private mutating func push(_ v: UInt64) {
        heap.append(v)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent] <= heap[i] { break }
            heap.swapAt(parent, i)
            i = parent
        }
    }

    private mutating func pop() -> UInt64? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return top }
        heap[0] = last
        var i = 0
        let n = heap.count
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var c = l
            if l + 1 < n, heap[l + 1] < heap[l] { c = l + 1 }
            if heap[i] <= heap[c] { break }
            heap.swapAt(i, c)
            i = c
        }
        return top
    }
}
