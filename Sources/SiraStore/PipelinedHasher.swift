import Dispatch

/// SHA-256 on a second thread for data that arrives in transient chunks (the tar reader's
/// buffer): each chunk is copied into one of a few slots and hashed in order while the caller
/// decompresses the next. On two cores, verify then costs about what decompression costs.
///
/// Ordering: one serial queue hashes slots first-in first-out; a semaphore with `slots` permits
/// guarantees a slot is reused only after the chunk it held was hashed (the k-th acquire
/// implies the (k - slots)-th hash finished, FIFO).
final class PipelinedHasher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "sira.package.hash")
    private let free: DispatchSemaphore
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var next = 0
    private var hasher = StreamHasher()   // touched only on `queue`

    init(slots: Int = 4, slotBytes: Int = 1 << 20) {
        free = DispatchSemaphore(value: slots)
        buffers = (0 ..< slots).map { _ in .allocate(byteCount: slotBytes, alignment: 64) }
    }

    deinit {
        queue.sync {}
        for b in buffers { b.deallocate() }
    }

    /// Queues `chunk` (copied; any size) for hashing.
    func update(_ chunk: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < chunk.count {
            free.wait()
            let index = next
            let slot = buffers[index]
            next = (next + 1) % buffers.count
            let n = min(slot.count, chunk.count - offset)
            slot.baseAddress!.copyMemory(from: chunk.baseAddress! + offset, byteCount: n)
            offset += n
            queue.async {
                self.hasher.update(UnsafeRawBufferPointer(start: self.buffers[index].baseAddress, count: n))
                self.free.signal()
            }
        }
    }

    /// Waits for every queued chunk and returns the digest.
    func finalize() -> String {
        queue.sync { hasher.finalize() }
    }
}
