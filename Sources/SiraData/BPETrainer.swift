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
struct MergeLearner {
    private var words: [[Int32]] = []
    private var counts: [Int] = []
    private var pairCounts: [UInt64: Int] = [:]
    private var pairWords: [UInt64: [Int32]] = [:]
    private var heap = PairHeap()

    init(counter: WordCounter) {
        counter.forEach { bytes, count in
            words.append(bytes.map { Int32($0) })
            counts.append(count)
        }
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 0 ..< word.count - 1 {
                let key = MergeTable.key(word[i], word[i + 1])
                pairCounts[key, default: 0] += counts[w]
                pairWords[key, default: []].append(Int32(w))
            }
        }
        for (key, count) in pairCounts { heap.push(count: count, pair: key) }
    }

    /// Learns up to `merges` merges; returns them as (left, right) in order. Merged ids are
    /// 256, 257, ... in the same order.
    mutating func learn(merges: Int, minFrequency: Int) -> [(Int32, Int32)] {
        var learned: [(Int32, Int32)] = []
        var lastVisit = [Int32](repeating: -1, count: words.count)
        while learned.count < merges, let top = heap.pop() {
            let current = pairCounts[top.pair] ?? 0
            if current != top.count {
                // Stale entry: a higher count was pushed separately; a lower one is re-queued.
                if current > 0, current < top.count { heap.push(count: current, pair: top.pair) }
                continue
            }
            if current < minFrequency { break }
            let a = Int32(truncatingIfNeeded: top.pair >> 32)
            let b = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
            let merged = Int32(256 + learned.count)
            learned.append((a, b))
            let iteration = Int32(learned.count)
            var increased: [UInt64: Int] = [:]
            for w in pairWords[top.pair] ?? [] where lastVisit[Int(w)] != iteration {
                lastVisit[Int(w)] = iteration
                mergeWord(Int(w), a, b, merged, &increased)
            }
            pairWords[top.pair] = nil
            pairCounts[top.pair] = nil
            for (key, _) in increased {
                if let c = pairCounts[key], c > 0 { heap.push(count: c, pair: key) }
            }
        }
        return learned
    }

    /// Replaces every (a, b) in word `w`, left to right, and moves the word's pair counts from
    /// the old pairs to the new ones. Pairs whose count grew are noted in `increased`.
    private mutating func mergeWord(_ w: Int, _ a: Int32, _ b: Int32, _ merged: Int32, _ increased: inout [UInt64: Int]) {
        let old = words[w]
        guard old.count > 1 else { return }
        var new: [Int32] = []
        new.reserveCapacity(old.count)
        var i = 0
        var changed = false
        while i < old.count {
            if i + 1 < old.count, old[i] == a, old[i + 1] == b {
                new.append(merged)
                i += 2
                changed = true
            } else {
                new.append(old[i])
                i += 1
            }
        }
        guard changed else { return }
        let c = counts[w]
        for j in 0 ..< old.count - 1 {
            let key = MergeTable.key(old[j], old[j + 1])
            pairCounts[key, default: 0] -= c
        }
        if new.count > 1 {
            for j in 0 ..< new.count - 1 {
                let key = MergeTable.key(new[j], new[j + 1])
                let before = pairCounts[key, default: 0]
                pairCounts[key] = before + c
                if new[j] == merged || new[j + 1] == merged {
                    pairWords[key, default: []].append(Int32(w))
                    increased[key] = 1
                }
            }
        }
        words[w] = new
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
