import Testing
@testable import SiraPipeline

@Test func toolVersionIsSemantic() {
    let parts = ToolVersion.string.split(separator: ".")
    #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil })
}
