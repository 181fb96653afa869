import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

@Test func toolVersionIsSemantic() {
    let parts = ToolVersion.string.split(separator: ".")
    #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil })
}
