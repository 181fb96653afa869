/// Transient buffers shared by all adapters of one `AdapterSet`: adapters of a model run one at a
/// time, so one set of buffers serves them all and memory does not grow with the number of adapted
/// projections. Nothing in them survives from one adapter call to the next; what an adapter must
/// keep from forward to backward lives in the adapter itself.
public final class AdapterWorkspace: @unchecked Sendable {
    /// MoLoRA's experts' `A` stacked `[E·r, in]` (repacked each forward).
    let packedExpertsA = Scratch()
    /// MoLoRA's experts' `B` stacked `[out, E·r]` (repacked each forward).
    let packedExpertsB = Scratch()
    /// Backward's gradient at the rank-r hidden state: LoRA's `dh` `[T, r]`, MoLoRA's `[T, E·r]`,
    /// SiRA's `G = dy_e B_e` per computed row `[rows, r]`.
    let hiddenGradient = Scratch()
    /// Backward's gate-weighted hidden state: MoLoRA's `p ⊙ h` `[T, E·r]`, SiRA's `w·h` `[rows, r]`.
    let weightedHidden = Scratch()
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
