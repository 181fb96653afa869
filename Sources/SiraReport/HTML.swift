import SiraPipeline
import SiraStages
import SiraStore
/// Escaping for the report. Every string that comes from data (task and variant names, stage
/// names, errors, paths, hosts, metric keys) reaches the page through `escape`, in element text
/// and in attribute values alike: a dataset named `<script>` shows as text, never as markup.
public enum HTML {
    /// `&`, `<`, `>`, `"` and `'` as character references; control characters other than tab and
    /// newline are dropped (they are invalid in HTML and in SVG's XML).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0xFFFE ... 0xFFFF).contains(scalar.value) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A number for an SVG attribute: 2 decimals, no exponent, `0` for non-finite input so a bad
    /// value can never produce an invalid attribute.
    static func coordinate(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        if r == r.rounded() { return String(Int64(r)) }
        return String(format: "%.2f", r)
    }
}
