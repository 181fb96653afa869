import Testing
@testable import SiraData
