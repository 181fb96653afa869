/// Transient buffers shared by all adapters of one `AdapterSet` (gathered rows, per-row outputs,
/// packed weights): adapters of a model run one at a time, so one set of buffers serves them all
/// and memory does not grow with the number of adapted projections. What an adapter must keep from
/// forward to backward lives in the adapter itself.
public final class AdapterWorkspace: @unchecked Sendable {
    let a = Scratch(), b = Scratch(), c = Scratch(), d = Scratch()
    public init() {}
}

/// A growable scratch buffer reused across calls so steady-state forward/backward does not allocate.
final class Scratch {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private var capacity: Int

    init() {
        capacity = 16
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }
    deinit { pointer.deallocate() }

    /// At least `count` floats; contents are unspecified after growth.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity * 2)
            pointer = .allocate(capacity: capacity)
            pointer.initialize(repeating: 0, count: capacity)
        }
        return pointer
    }
}
