import Foundation

/// Learns byte-level BPE merges from a corpus.
///
/// Algorithm (deterministic: the result depends only on the multiset of pre-tokens):
/// 1. cut added tokens out of each text, pre-tokenize the rest, count distinct pre-tokens
///    (texts are counted on all cores in blocks);
/// 2. every distinct word starts as its bytes (ids 0–255 are the bytes themselves);
/// 3. repeatedly take the adjacent pair with the highest count, weighted by word frequency —
///    ties go to the smaller (left id, right id) — give it the next id and merge it in every
///    word that contains it, updating pair counts incrementally (an index from pair to words
///    and a max-heap with lazily corrected counts);
/// 4. stop at the requested vocabulary size or when no pair occurs `minFrequency` times.
/// Special tokens take the ids after the merges, in the order given.
extension BPETokenizer {
    public static func train(
        texts: some Sequence<String>,
        vocabSize: Int,
        minFrequency: Int = 2,
        specialTokens: [String] = SpecialTokens.all,
        preTokenizer: PreTokenizer = .gpt2,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) -> BPETokenizer {
        let counter = countWords(texts, specialTokens: specialTokens, preTokenizer: preTokenizer, threads: threads)
        let mergeBudget = max(0, vocabSize - 256 - specialTokens.count)
        var trainer = MergeLearner(counter: counter)
        let learned = trainer.learn(merges: mergeBudget, minFrequency: max(1, minFrequency))

        var tokens: [[UInt8]] = (0 ..< 256).map { [UInt8($0)] }
        var triples: [Triple] = []
        for (a, b) in learned {
            triples.append(Triple(left: a, right: b, merged: Int32(tokens.count)))
            tokens.append(tokens[Int(a)] + tokens[Int(b)])
        }
        var added: [AddedToken] = []
        for name in specialTokens {
            added.append(AddedToken(id: tokens.count, content: name, special: true))
            tokens.append(Array(name.utf8))
        }
        return BPETokenizer(Parts(tokens: tokens, inModelVocab: [Bool](repeating: true, count: tokens.count),
                                  merges: triples, added: added, preTokenizer: preTokenizer))
    }

    /// Distinct pre-tokens and their counts over all texts.
    static func countWords(_ texts: some Sequence<String>, specialTokens: [String], preTokenizer: PreTokenizer, threads: Int) -> WordCounter {
        let matcher = AddedTokenMatcher(specialTokens.enumerated().map { AddedToken(id: $0.offset, content: $0.element) })
        let workers = max(1, threads)
        var total = WordCounter()
        var block: [String] = []
        var blockBytes = 0

        func flush() {
            guard !block.isEmpty else { return }
            let texts = block
            let partial = UnsafeSendable(UnsafeMutablePointer<WordCounter>.allocate(capacity: workers))
            partial.value.initialize(repeating: WordCounter(), count: workers)
            defer {
                partial.value.deinitialize(count: workers)
                partial.value.deallocate()
            }
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var counter = WordCounter()
                var i = w
                while i < texts.count {
                    var text = texts[i]
                    text.withUTF8 { buf in
                        guard let base = buf.baseAddress, buf.count > 0 else { return }
                        matcher.split(base, buf.count, text: { s, e in
                            if preTokenizer.addPrefixSpace, base[s] != 0x20 {
                                let prefixed = [0x20] + Array(UnsafeBufferPointer(start: base + s, count: e - s))
                                prefixed.withUnsafeBufferPointer { pre in
                                    preTokenizer.split(pre.baseAddress!, 0, pre.count) { a, b in counter.add(pre.baseAddress! + a, b - a) }
                                }
                            } else {
                                preTokenizer.split(base + s, 0, e - s) { a, b in counter.add(base + s + a, b - a) }
                            }
                        }, token: { _ in })
                    }
                    i += workers
                }
                partial.value[w] = counter
            }
            for w in 0 ..< workers { total.add(partial.value[w]) }
            block.removeAll(keepingCapacity: true)
            blockBytes = 0
        }

        for text in texts {
            block.append(text)
            blockBytes += text.utf8.count
            if blockBytes >= 8 << 20 { flush() }
        }
        flush()
        return total
    }
}

/// The merge loop of BPE training over distinct words with counts.
///
/// State: each distinct word as symbol ids; for every adjacent pair a slot (`PairIndex`) holding
/// its count weighted by word frequency and the words it occurs in (appended, possibly repeated
/// or stale, filtered when used). A merge rewrites each word that holds the pair in place, left
/// to right, and adjusts only the pairs beside each occurrence: (left, a) → (left, new) and
/// (b, right) → (new, right) — the library's incremental update.
struct MergeLearner {
    private var words: [[Int32]] = []
    private var counts: [Int] = []
    private var pairs = PairIndex()
    private var heap = PairHeap()

    init(counter: WordCounter) {
        counter.forEach { bytes, count in
            words.append(bytes.map { Int32($0) })
            counts.append(count)
        }
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 0 ..< word.count - 1 {
                let slot = pairs.slot(MergeTable.key(word[i], word[i + 1]))
                pairs.counts[slot] += counts[w]
                pairs.words[slot].append(Int32(w))
            }
        }
        for slot in 0 ..< pairs.keys.count where pairs.counts[slot] > 0 {
            heap.push(count: pairs.counts[slot], pair: pairs.keys[slot])
        }
    }

    /// Learns up to `merges` merges; returns them as (left, right) in order. Merged ids are
    /// 256, 257, ... in the same order.
    mutating func learn(merges: Int, minFrequency: Int) -> [(Int32, Int32)] {
        var learned: [(Int32, Int32)] = []
        var lastVisit = [Int32](repeating: -1, count: words.count)
        var touched: [Int] = []
        var isTouched: [Bool] = []
        while learned.count < merges, let top = heap.pop() {
            let topSlot = pairs.find(top.pair)
            let current = topSlot.map { pairs.counts[$0] } ?? 0
            if current != top.count {
                // Stale entry: a higher count was pushed separately; a lower one is re-queued.
                if current > 0, current < top.count { heap.push(count: current, pair: top.pair) }
                continue
            }
            if current < minFrequency { break }
            let slot = topSlot!
            let a = Int32(truncatingIfNeeded: top.pair >> 32)
            let b = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
            let merged = Int32(256 + learned.count)
            learned.append((a, b))
            let iteration = Int32(learned.count)
            let holders = pairs.words[slot]
            pairs.words[slot] = []
            for w in holders where lastVisit[Int(w)] != iteration {
                lastVisit[Int(w)] = iteration
                mergeWord(Int(w), a, b, merged) { pairSlot, delta in
                    if delta > 0 {
                        while isTouched.count <= pairSlot { isTouched.append(false) }
                        if !isTouched[pairSlot] {
                            isTouched[pairSlot] = true
                            touched.append(pairSlot)
                        }
                    }
                }
            }
            pairs.counts[slot] = 0
            for t in touched {
                isTouched[t] = false
                if pairs.counts[t] > 0 { heap.push(count: pairs.counts[t], pair: pairs.keys[t]) }
            }
            touched.removeAll(keepingCapacity: true)
        }
        return learned
    }

    /// Replaces every (a, b) in word `w`, left to right, updating the counts of the neighbouring
    /// pairs; `changed(slot, delta)` reports each adjusted pair.
    private mutating func mergeWord(_ w: Int, _ a: Int32, _ b: Int32, _ merged: Int32, _ changed: (Int, Int) -> Void) {
        let c = counts[w]
        var word = words[w]
        words[w] = []
        let n = word.count
        var write = 0
        var read = 0
        while read < n {
            if read + 1 < n, word[read] == a, word[read + 1] == b {
                if write > 0 {
                    let left = word[write - 1]
                    add(MergeTable.key(left, a), -c, w, changed)
                    add(MergeTable.key(left, merged), c, w, changed)
                }
                if read + 2 < n {
                    let right = word[read + 2]
                    add(MergeTable.key(b, right), -c, w, changed)
                    add(MergeTable.key(merged, right), c, w, changed)
                }
                word[write] = merged
                write += 1
                read += 2
            } else {
                word[write] = word[read]
                write += 1
                read += 1
            }
        }
        word.removeLast(n - write)
        words[w] = word
    }

    @inline(__always) private mutating func add(_ key: UInt64, _ delta: Int, _ w: Int, _ changed: (Int, Int) -> Void) {
        let slot = pairs.slot(key)
        pairs.counts[slot] += delta
        if delta > 0 { pairs.words[slot].append(Int32(w)) }
        changed(slot, delta)
    }
}

/// Pair key → slot, open addressing with a multiplicative hash; per-slot count and word list.
/// Slots are never removed (a pair whose count falls to 0 keeps its slot).
struct PairIndex {
    private(set) var keys: [UInt64] = []
    var counts: [Int] = []
    var words: [[Int32]] = []
    private var table = [Int32](repeating: -1, count: 1 << 16)
    private var shift: UInt64 = 48

    @inline(__always) private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    func find(_ key: UInt64) -> Int? {
        let mask = table.count - 1
        var i = home(key)
        while true {
            let s = Int(table[i])
            if s < 0 { return nil }
            if keys[s] == key { return s }
            i = (i + 1) & mask
        }
    }

    /// The slot of `key`, created (count 0, no words) if new.
    mutating func slot(_ key: UInt64) -> Int {
        var mask = table.count - 1
        var i = home(key)
        while true {
            let s = Int(table[i])
            if s < 0 { break }
            if keys[s] == key { return s }
            i = (i + 1) & mask
        }
        let s = keys.count
        keys.append(key)
        counts.append(0)
        words.append([])
        table[i] = Int32(s)
        if keys.count * 2 > table.count {
            table = [Int32](repeating: -1, count: table.count * 2)
            shift -= 1
            mask = table.count - 1
            for (k, stored) in keys.enumerated() {
                var j = home(stored)
                while table[j] >= 0 { j = (j + 1) & mask }
                table[j] = Int32(k)
            }
        }
        return s
    }
}

/// Max-heap of (count, pair): highest count first, then the smaller pair key.
struct PairHeap {
    private var items: [(count: Int, pair: UInt64)] = []

    private static func above(_ x: (count: Int, pair: UInt64), _ y: (count: Int, pair: UInt64)) -> Bool {
        x.count != y.count ? x.count > y.count : x.pair < y.pair
    }

    mutating func push(count: Int, pair: UInt64) {
        items.append((count, pair))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.above(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (count: Int, pair: UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        items[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1
            if l >= items.count { break }
            var c = l
            if l + 1 < items.count, Self.above(items[l + 1], items[l]) { c = l + 1 }
            guard Self.above(items[c], items[i]) else { break }
            items.swapAt(i, c)
            i = c
        }
        return top
    }
}
