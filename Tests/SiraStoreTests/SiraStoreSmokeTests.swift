import Testing
@testable import SiraStore
