/// Escaping for the pages that show run records (the HTML report and the web UI). Every string
/// that comes from data (task and variant names, stage names, errors, paths, hosts, metric keys)
/// reaches a page through `escape`, in element text and in attribute values alike: a dataset named
/// `<script>` shows as text, never as markup.
public enum HTMLText {
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
}
