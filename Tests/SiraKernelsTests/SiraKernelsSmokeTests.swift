import Testing
@testable import SiraKernels
