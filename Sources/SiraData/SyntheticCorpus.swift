import SiraIO
import Foundation

/// A deterministic, download-free corpus for benchmarks: paragraphs of a made-up language with
/// natural-looking statistics — a Zipf-distributed vocabulary of syllable words, capitalised
/// sentences, punctuation, contractions, numbers and dates, quotes and parentheses — mixed with
/// Cyrillic, Greek, Arabic, CJK and emoji sentences, so tokenizer and ingest figures reflect
/// multilingual text rather than one repeated string. The same (bytes, seed) gives the same text.
public enum SyntheticCorpus {
    /// Paragraphs totalling at least `bytes` UTF-8 bytes.
    public static func paragraphs(bytes: Int, seed: UInt64 = 1) -> [String] {
        var rng = SplitMix64(seed: seed)
        let lexicon = makeLexicon(&rng)
        let zipf = ZipfTable(count: lexicon.count, exponent: 1.07)
        var out: [String] = []
        var total = 0
        while total < bytes {
            var paragraph = ""
            let sentences = 2 + Int(rng.next(below: 7))
            for s in 0 ..< sentences {
                if s > 0 { paragraph += " " }
                paragraph += sentence(&rng, lexicon, zipf)
            }
            total += paragraph.utf8.count + 2
            out.append(paragraph)
        }
        return out
    }

    private static let latinOnsets = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
                                      "br", "ch", "cl", "dr", "fl", "gr", "pl", "pr", "sh", "st", "str", "th", "tr"]
    private static let latinNuclei = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "ea", "ou", "ai", "ie", "y"]
    private static let latinCodas = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "rk", "ck", "x"]
    private static let cyrillic = Array("абвгдежзиклмнопрстуфхцчшщыэюя")
    private static let greek = Array("αβγδεζηθικλμνξοπρστυφχψω")
    private static let arabic = Array("ابتثجحخدذرزسشصضطظعغفقكلمنهوي")
    private static let cjk = Array("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持音跑")
    private static let emoji = ["😀", "🙂", "👍", "🎉", "🚀", "❤️", "👋🏽", "🇩🇪", "👨‍👩‍👧", "✨"]
    private static let contractions = ["'s", "n't", "'re", "'ll", "'ve", "'d", "'m"]

    private static func makeLexicon(_ rng: inout SplitMix64) -> [String] {
        var words = Set<String>()
        var list: [String] = []
        while list.count < 24000 {
            let syllables = 1 + Int(rng.next(below: 3)) + (rng.next(below: 4) == 0 ? 1 : 0)
            var w = ""
            for _ in 0 ..< syllables {
                w += pick(latinOnsets, &rng) + pick(latinNuclei, &rng) + pick(latinCodas, &rng)
            }
            if words.insert(w).inserted { list.append(w) }
        }
        return list
    }

    private static func pick<T>(_ items: [T], _ rng: inout SplitMix64) -> T {
        items[Int(rng.next(below: UInt64(items.count)))]
    }

    private static func foreignWord(_ alphabet: [Character], _ rng: inout SplitMix64, length: Int) -> String {
        String((0 ..< length).map { _ in pick(alphabet, &rng) })
    }

    private static func sentence(_ rng: inout SplitMix64, _ lexicon: [String], _ zipf: ZipfTable) -> String {
        let kind = rng.next(below: 100)
        let n = 4 + Int(rng.next(below: 18))
        var words: [String] = []
        switch kind {
        case 0 ..< 4:
            words = (0 ..< n).map { _ in foreignWord(cyrillic, &rng, length: 2 + Int(rng.next(below: 8))) }
        case 4 ..< 6:
            words = (0 ..< n).map { _ in foreignWord(greek, &rng, length: 2 + Int(rng.next(below: 8))) }
        case 6 ..< 8:
            words = (0 ..< n).map { _ in foreignWord(arabic, &rng, length: 2 + Int(rng.next(below: 7))) }
        case 8 ..< 11:
            return foreignWord(cjk, &rng, length: 8 + Int(rng.next(below: 30))) + pick(["。", "，", "！", "？"], &rng)
        default:
            for i in 0 ..< n {
                var w = lexicon[zipf.sample(&rng)]
                let r = rng.next(below: 1000)
                if r < 25 { w += pick(contractions, &rng) }
                else if r < 45 { w = String(rng.next(below: 10000)) }
                else if r < 52 { w = "\(1900 + rng.next(below: 130))-\(10 + rng.next(below: 3))-\(10 + rng.next(below: 19))" }
                else if r < 58 { w = "\(rng.next(below: 1000)).\(rng.next(below: 100))" }
                else if r < 64 { w = "(" + w + ")" }
                else if r < 70 { w = "\"" + w + "\"" }
                else if r < 76 { w = w.prefix(1).uppercased() + w.dropFirst() }
                else if r < 79 { w = pick(emoji, &rng) }
                if i == 0 { w = w.prefix(1).uppercased() + w.dropFirst() }
                if i < n - 1, rng.next(below: 10) == 0 { w += pick([",", ",", ";", ":", " -"], &rng) }
                words.append(w)
            }
        }
        return words.joined(separator: " ") + pick([".", ".", ".", ".", "!", "?", "..."], &rng)
    }
}

/// Samples ranks 0..<count with probability ∝ 1/(rank+1)^exponent by binary search in the CDF.
struct ZipfTable {
    private var cdf: [Double] = []

    init(count: Int, exponent: Double) {
        var sum = 0.0
        for r in 0 ..< count {
            sum += 1 / pow(Double(r + 1), exponent)
            cdf.append(sum)
        }
        cdf = cdf.map { $0 / sum }
    }

    func sample(_ rng: inout SplitMix64) -> Int {
        let u = Double(rng.next() >> 11) * 0x1p-53
        var lo = 0
        var hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
