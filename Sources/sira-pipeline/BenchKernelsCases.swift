import Foundation
import SiraKernels

/// One timed GEMM shape of `bench kernels`.
struct KernelBenchCase: Codable {
    var kind: String
    var name: String
    var m: Int, n: Int, k: Int
    var ta: Bool, tb: Bool

    var transA: Transpose { ta ? .transpose : .noTranspose }
    var transB: Transpose { tb ? .transpose : .noTranspose }

    static func gemmCases(maxSize: Int) -> [KernelBenchCase] {
        var cases: [KernelBenchCase] = []
        for size in [256, 512, 1024, 2048] where size <= maxSize {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let tag = (ta ? "T" : "N") + (tb ? "T" : "N")
                cases.append(KernelBenchCase(kind: "square", name: "gemm \(size) \(tag)", m: size, n: size, k: size, ta: ta, tb: tb))
            }
        }
        // LoRA r=8 on a 576-wide projection over 4096 tokens: forward x·Aᵀ and h·Bᵀ (A [8,576], B [576,8]),
        // backward dh = dy·B, dx = dh·A, dB = dyᵀ·h, dA = dhᵀ·x.
        cases.append(KernelBenchCase(kind: "lora", name: "lora fwd x·Aᵀ", m: 4096, n: 8, k: 576, ta: false, tb: true))
        cases.append(KernelBenchCase(kind: "lora", name: "lora fwd h·Bᵀ", m: 4096, n: 576, k: 8, ta: false, tb: true))
        cases.append(KernelBenchCase(kind: "lora", name: "lora bwd dy·B", m: 4096, n: 8, k: 576, ta: false, tb: false))
        cases.append(KernelBenchCase(kind: "lora", name: "lora bwd dh·A", m: 4096, n: 576, k: 8, ta: false, tb: false))
        cases.append(KernelBenchCase(kind: "lora", name: "lora bwd dB=dyᵀ·h", m: 576, n: 8, k: 4096, ta: true, tb: false))
        cases.append(KernelBenchCase(kind: "lora", name: "lora bwd dA=dhᵀ·x", m: 8, n: 576, k: 4096, ta: true, tb: false))
        // A SiRA router with 16 experts: logits x·Wgᵀ, and its weight gradient dzᵀ·x.
        cases.append(KernelBenchCase(kind: "router", name: "router E=16 x·Wgᵀ", m: 4096, n: 16, k: 576, ta: false, tb: true))
        cases.append(KernelBenchCase(kind: "router", name: "router E=16 dzᵀ·x", m: 16, n: 576, k: 4096, ta: true, tb: false))
        return cases
    }

    static func groupedCases() -> [GroupedBenchCase] {
        var cases: [GroupedBenchCase] = []
        for experts in [8, 16, 32] {
            let loads = GroupedBenchCase.unevenLoads(tokens: 2048, k: 2, experts: experts)
            cases.append(GroupedBenchCase(name: "grouped E=\(experts) 576x576", experts: experts, rowCounts: loads, n: 576, k: 576))
            cases.append(GroupedBenchCase(name: "grouped E=\(experts) lora x·Aᵀ", experts: experts, rowCounts: loads, n: 8, k: 576))
            cases.append(GroupedBenchCase(name: "grouped E=\(experts) lora h·Bᵀ", experts: experts, rowCounts: loads, n: 576, k: 8))
        }
        return cases
    }
}

/// The matrices of one case, allocated once and reused by every repetition.
struct BenchOperands {
    let c: KernelBenchCase
    let a: BenchMatrix, b: BenchMatrix, out: BenchMatrix

    init(_ c: KernelBenchCase) {
        self.c = c
        a = BenchMatrix(count: c.m * c.k); b = BenchMatrix(count: c.k * c.n); out = BenchMatrix(count: c.m * c.n)
    }

    func run(threads: Int) {
        let lda = c.transA == .noTranspose ? c.k : c.m, ldb = c.transB == .noTranspose ? c.n : c.k
        sgemm(c.transA, c.transB, m: c.m, n: c.n, k: c.k, alpha: 1, a: a.pointer, lda: lda,
              b: b.pointer, ldb: ldb, beta: 0, c: out.pointer, ldc: c.n, threads: threads)
    }

    func free() { a.free(); b.free(); out.free() }
}

struct GroupedBenchCase {
    var name: String
    var experts: Int
    var rowCounts: [Int]
    var n: Int, k: Int

    /// `tokens * k` assignments spread with Zipf-like weights 1/(e+1) over a fixed shuffle of the
    /// experts, so loads are uneven (a few experts take most tokens, the last ones few).
    static func unevenLoads(tokens: Int, k: Int, experts: Int) -> [Int] {
        let weights = (0..<experts).map { 1 / Double($0 + 1) }
        let sum = weights.reduce(0, +), total = tokens * k
        var counts = weights.map { Int(Double(total) * $0 / sum) }
        counts[0] += total - counts.reduce(0, +)
        // Deterministic shuffle so the big experts are not all first.
        var order = Array(0..<experts), state: UInt64 = 0x5EED
        for i in stride(from: experts - 1, to: 0, by: -1) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            order.swapAt(i, Int((state >> 33) % UInt64(i + 1)))
        }
        return order.map { counts[$0] }
    }
}

struct KernelBenchRow: Encodable {
    var kind: String
    var name: String
    var shape: String
    var threads: Int
    var flops: Double
    var sira: BenchTiming
    var peer: BenchTiming?
    var dense: BenchTiming?

    var siraGflops: Double { flops / sira.wall / 1e9 }
    var peerGflops: Double? { peer.map { flops / $0.wall / 1e9 } }
    var percentOfPeer: Double? { peer.map { 100 * $0.wall / sira.wall } }
    /// `flops * threads / CPU seconds`: the rate had every thread kept a core to itself.
    var siraCPUGflops: Double { flops * Double(threads) / sira.cpu / 1e9 }
    var peerCPUGflops: Double? { peer.map { flops * Double(threads) / $0.cpu / 1e9 } }
    var percentOfPeerCPU: Double? { peer.map { 100 * $0.cpu / sira.cpu } }
    var denseGflops: Double? { dense.map { flops / $0.wall / 1e9 } }
    var timeOverDense: Double? { dense.map { sira.wall / $0.wall } }
    var timeOverDenseCPU: Double? { dense.map { sira.cpu / $0.cpu } }

    init(kind: String, name: String, shape: String, threads: Int, flops: Double, sira: BenchTiming,
         peer: BenchTiming?, dense: BenchTiming?) {
        self.kind = kind; self.name = name; self.shape = shape; self.threads = threads; self.flops = flops
        self.sira = sira; self.peer = peer; self.dense = dense
    }

    init(_ c: KernelBenchCase, threads: Int, sira: BenchTiming, peer: BenchTiming?) {
        let shape = "[\(c.m) x \(c.k)] x [\(c.k) x \(c.n)] \(c.ta ? "T" : "N")\(c.tb ? "T" : "N")"
        self.init(kind: c.kind, name: c.name, shape: shape, threads: threads, flops: 2 * Double(c.m) * Double(c.n) * Double(c.k),
                  sira: sira, peer: peer, dense: nil)
    }

    enum CodingKeys: String, CodingKey {
        case kind, name, shape, threads, flops, siraSeconds, peerSeconds, denseSeconds, siraCPUSeconds, peerCPUSeconds
        case siraGflops, peerGflops, percentOfPeer, siraCPUGflops, peerCPUGflops, percentOfPeerCPU, denseGflops, timeOverDense
        case denseCPUSeconds, timeOverDenseCPU
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind); try c.encode(name, forKey: .name); try c.encode(shape, forKey: .shape)
        try c.encode(threads, forKey: .threads); try c.encode(flops, forKey: .flops)
        try c.encode(sira.wall, forKey: .siraSeconds); try c.encodeIfPresent(peer?.wall, forKey: .peerSeconds)
        try c.encodeIfPresent(dense?.wall, forKey: .denseSeconds)
        try c.encode(sira.cpu, forKey: .siraCPUSeconds); try c.encodeIfPresent(peer?.cpu, forKey: .peerCPUSeconds)
        try c.encodeIfPresent(dense?.cpu, forKey: .denseCPUSeconds); try c.encodeIfPresent(timeOverDenseCPU, forKey: .timeOverDenseCPU)
        try c.encode(siraGflops, forKey: .siraGflops)
        try c.encodeIfPresent(peerGflops, forKey: .peerGflops); try c.encodeIfPresent(percentOfPeer, forKey: .percentOfPeer)
        try c.encode(siraCPUGflops, forKey: .siraCPUGflops); try c.encodeIfPresent(peerCPUGflops, forKey: .peerCPUGflops)
        try c.encodeIfPresent(percentOfPeerCPU, forKey: .percentOfPeerCPU)
        try c.encodeIfPresent(denseGflops, forKey: .denseGflops); try c.encodeIfPresent(timeOverDense, forKey: .timeOverDense)
    }
}

/// Best wall-clock seconds and best process CPU seconds (all threads) of one case.
struct BenchTiming: Codable {
    var wall: Double
    var cpu: Double

    static let none = BenchTiming(wall: .infinity, cpu: .infinity)

    func merged(_ other: BenchTiming) -> BenchTiming { BenchTiming(wall: min(wall, other.wall), cpu: min(cpu, other.cpu)) }

    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

struct KernelBenchReport: Encodable {
    var machineThreads: Int
    var minTimeSeconds: Double
    var rounds: Int
    var peer = "numpy.matmul (OpenBLAS), OPENBLAS_NUM_THREADS = threads, alternating with ours per case"
    var rows: [KernelBenchRow]
}

/// A 64-byte aligned matrix of uniform values in [-1, 1).
struct BenchMatrix {
    let pointer: UnsafeMutablePointer<Float>
    init(count: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        var state: UInt32 = 12345
        for i in 0..<count {
            state = state &* 1664525 &+ 1013904223
            pointer[i] = Float(state >> 8) / Float(1 << 23) - 1
        }
    }
    func free() { pointer.deallocate() }
}
