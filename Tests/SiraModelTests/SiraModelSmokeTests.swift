import Testing
@testable import SiraModel
