import SiraPipeline
import SiraStages
import SiraStore
/// Helpers for the report's markup.
public enum HTML {
    /// `HTMLText.escape`: every string from data goes through it.
    public static func escape(_ text: String) -> String { HTMLText.escape(text) }

    /// A number for an SVG attribute: 2 decimals, no exponent, `0` for non-finite input so a bad
    /// value can never produce an invalid attribute.
    static func coordinate(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        if r == r.rounded() { return String(Int64(r)) }
        return String(format: "%.2f", r)
    }
}
