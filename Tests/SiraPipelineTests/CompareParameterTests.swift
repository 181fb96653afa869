import SiraIO
import Testing
@testable import sira_pipeline

/// `compare` keeps long parameter values (a watch run's input hashes) out of its columns.
@Suite struct CompareParameterTests {
    @Test func longValuesBecomeACountAndADigest() {
        let hashes = (0..<5).map { ContentHash.sha256("file \($0)") }
        let list = hashes.joined(separator: ",")
        let short = CompareCommand.shortened(list)
        #expect(short == "5 items, sha256 \(ContentHash.sha256(list).prefix(12))")
        // Two different lists of the same length still differ; short values are kept as they are.
        #expect(CompareCommand.shortened(hashes.reversed().joined(separator: ",")) != short)
        #expect(CompareCommand.shortened("400") == "400")
    }
}
