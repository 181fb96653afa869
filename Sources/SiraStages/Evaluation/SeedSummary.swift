import Foundation
import SiraPipeline

/// One metric of one (task, variant) over its seed replicas: mean and sample standard deviation.
///
/// `std` is the sample standard deviation (divisor n − 1), nil for a single replica: one run says
/// nothing about spread, and printing ±0 would claim it does. Non-finite values (a diverged loss,
/// an infinite perplexity) are left out of both and counted in `missing`.
public struct SeedSummary: Sendable, Equatable {
    /// The finite values, in replica order.
    public var values: [Double]
    public var mean: Double
    public var std: Double?
    public var missing: Int

    /// nil when no value is finite.
    public init?(_ raw: [Double]) {
        let finite = raw.filter(\.isFinite)
        guard !finite.isEmpty else { return nil }
        values = finite
        missing = raw.count - finite.count
        let n = Double(finite.count)
        mean = finite.reduce(0, +) / n
        if finite.count >= 2 {
            let m = mean
            std = (finite.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)).squareRoot()
        } else {
            std = nil
        }
    }

    public var count: Int { values.count }

    /// `0.640 ± 0.020` (or just `0.640` for one replica), mean and std with the same decimals.
    public func formatted(_ metric: EvaluationMetric) -> String {
        let m = MetricFormat.value(mean, metric)
        guard let std else { return m }
        return "\(m) ± \(MetricFormat.value(std, metric, like: mean))"
    }
}

/// How metric values are printed in tables, sentences and the report.
public enum MetricFormat {
    /// Fractions with 3 decimals; losses and perplexities with 3 decimals below 10, 2 below
    /// 1000, else 4 significant digits. `like`: take the decimals of that value instead (a
    /// standard deviation or a difference printed next to its mean).
    public static func value(_ v: Double, _ metric: EvaluationMetric, like reference: Double? = nil) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if metric.isFraction { return String(format: "%.3f", v) }
        let a = abs(reference ?? v)
        if a < 10 { return String(format: "%.3f", v) }
        if a < 1000 { return String(format: "%.2f", v) }
        return String(format: "%.4g", v)
    }

    /// A difference with its sign (`+0.030`, `-1.25`).
    public static func signed(_ v: Double, _ metric: EvaluationMetric) -> String {
        (v >= 0 ? "+" : "-") + value(abs(v), metric)
    }

    /// Any number for a table: integers plainly, else up to 4 significant decimals.
    public static func number(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == v.rounded(), abs(v) < 1e12 { return String(Int64(v)) }
        let a = abs(v)
        if a >= 1000 || a < 0.001 { return String(format: "%.4g", v) }
        return String(format: "%.4f", v)
    }
}
