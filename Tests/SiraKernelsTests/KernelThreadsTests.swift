import Testing
@testable import SiraKernels

struct KernelThreadsTests {
    @Test("defaults to at least one thread, clamps to 1, and round-trips a value")
    func settable() {
        let saved = KernelThreads.count
        #expect(saved >= 1)
        KernelThreads.count = 0
        #expect(KernelThreads.count == 1)
        KernelThreads.count = 3
        #expect(KernelThreads.count == 3)
        KernelThreads.count = saved
    }
}
