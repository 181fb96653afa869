/// What `metrics RUN KEY` says when the run recorded no `KEY`: the closest recorded keys, then
/// every recorded key with the large per-layer families folded into one entry each
/// (`eval.router.* (480 keys)`), so the message stays a few lines on a 30-layer model.
enum MetricKeyHint {
    /// A family with more keys than this is shown as `prefix.* (N keys)`.
    static let foldAbove = 8

    /// Up to three recorded keys nearest `key`: those whose last components equal it
    /// (`loss` → `train.loss`, `eval.loss`), then by edit distance (at most a third of the key).
    static func closest(to key: String, in known: [String]) -> [String] {
        let suffixed = known.filter { $0.hasSuffix("." + key) }.sorted { ($0.count, $0) < ($1.count, $1) }
        if !suffixed.isEmpty { return Array(suffixed.prefix(3)) }
        let limit = max(2, key.count / 3)
        let scored = known.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= limit }
        return scored.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(3).map(\.0)
    }

    /// Recorded keys grouped: a family (first two components, or the first when that is all) of
    /// more than `foldAbove` keys becomes one `family.* (N keys)` entry.
    static func grouped(_ known: [String]) -> [String] {
        var families: [String: [String]] = [:]
        for key in known {
            let parts = key.split(separator: ".")
            let family = parts.count > 2 ? parts.prefix(2).joined(separator: ".") : String(parts.first ?? "")
            families[family, default: []].append(key)
        }
        return families.keys.sorted().flatMap { family -> [String] in
            let keys = families[family]!.sorted()
            return keys.count > foldAbove ? ["\(family).* (\(keys.count) keys)"] : keys
        }
    }

    /// The message's tail: "did you mean ...? Recorded: ...".
    static func message(for key: String, known: [String]) -> String {
        if known.isEmpty { return " (it recorded no metrics)" }
        let near = closest(to: key, in: known)
        let hint = near.isEmpty ? "" : "; did you mean \(near.joined(separator: " or "))?"
        return hint + "\nrecorded keys: " + grouped(known).joined(separator: ", ")
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
