import Foundation

/// Router arithmetic shared by MoLoRA and SiRA, in fp32 as DESIGN.md §5 specifies.
enum RouterMath {
    /// Replaces `row` by its softmax and returns `logsumexp` of the original values.
    @discardableResult
    static func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) -> Float {
        var m = -Float.infinity
        for i in 0..<count { m = max(m, row[i]) }
        var sum: Float = 0
        for i in 0..<count { let e = expf(row[i] - m); row[i] = e; sum += e }
        let inv = 1 / sum
        for i in 0..<count { row[i] *= inv }
        return m + logf(sum)
    }
}
