import Foundation

/// Register tile of the GEMM micro-kernel: 6 rows x 16 columns = 12 AVX2 accumulators, leaving
/// registers for two B vectors and one A broadcast (16 ymm registers on x86-64).
let gemmMR = 6
let gemmNR = 16

/// Cache blocking (BLIS naming) for Zen 3: a `kc x 16` B sliver (16 KB at kc = 256) stays in the
/// 32 KB L1d, an `mc x kc` packed A block (144 KB) in the 512 KB L2, a `kc x nc` B panel in L3.
struct GemmBlocking: Sendable {
    var mc: Int
    var kc: Int
    var nc: Int

    static let zen3 = GemmBlocking(mc: 144, kc: 256, nc: 4080)

    init(mc: Int, kc: Int, nc: Int) {
        precondition(mc % gemmMR == 0 && nc % gemmNR == 0 && kc > 0, "GemmBlocking: mc=\(mc) nc=\(nc) not multiples of the tile")
        self.mc = mc; self.kc = kc; self.nc = nc
    }
}

/// Reusable 64-byte aligned scratch buffers for packed panels, so a GEMM does not fault in fresh
/// pages on every call. Thread-safe; a buffer is owned by one caller between take and give back.
enum GemmScratch {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []

    static func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let buffer = take(count)
        defer { giveBack(buffer) }
        return body(buffer.pointer)
    }

    private static func take(_ count: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        lock.lock()
        if let i = free.firstIndex(where: { $0.capacity >= count }) {
            let buffer = free.remove(at: i)
            lock.unlock()
            return buffer
        }
        lock.unlock()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        return (raw.bindMemory(to: Float.self, capacity: max(count, 1)), count)
    }

    private static func giveBack(_ buffer: (pointer: UnsafeMutablePointer<Float>, capacity: Int)) {
        lock.lock()
        defer { lock.unlock() }
        free.append(buffer)
        if free.count > 8 {
            free.sort { $0.capacity > $1.capacity }
            UnsafeMutableRawPointer(free.removeLast().pointer).deallocate()
        }
    }
}
