import ArgumentParser
import Foundation
import SiraIO
import SiraKernels

/// `sira-pipeline bench kernels`: GFLOP/s of the SiraKernels GEMMs next to numpy's matmul
/// (OpenBLAS) at the same shapes, thread counts and in the same run (issue #2's figures).
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "GEMM, skinny LoRA and grouped expert GEMM throughput vs numpy/OpenBLAS.")

    @Option(help: "Threads for the multi-threaded rows (default: all active processors).")
    var threads: Int?

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    @Option(help: "Minimum seconds of timed repetitions per case (best repetition is reported).")
    var minTime: Double = 0.4

    @Option(help: "Largest square GEMM size to run (256, 512, 1024, 2048).")
    var maxSize: Int = 2048

    @Option(help: "Run only the cases whose name contains this text (e.g. \"gemm 1024\", \"grouped E=16\").")
    var filter: String?

    @Flag(help: "Skip the numpy/OpenBLAS peer.")
    var noPeer = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if minTime <= 0 { throw ValidationError("--min-time must be positive") }
    }

    func run() throws {
        let many = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let threadCounts = many > 1 ? [1, many] : [1]
        KernelThreads.count = many
        var rows: [KernelBenchRow] = []
        for t in threadCounts {
            var cases = KernelBenchCase.gemmCases(maxSize: maxSize).filter { selected($0.name) }
            for c in cases.indices { cases[c].sira = timeSira(cases[c], threads: t) }
            let peer: [BenchTiming?] = noPeer || cases.isEmpty ? cases.map { _ in nil } : try NumpyPeer.time(cases, threads: t, minTime: minTime)
            for (c, p) in zip(cases, peer) { rows.append(KernelBenchRow(c, threads: t, peer: p)) }
            for g in KernelBenchCase.groupedCases() where selected(g.name) {
                rows.append(contentsOf: timeGrouped(g, threads: t))
            }
        }
        printTable(rows, threadCounts: threadCounts)
        if let json {
            let report = KernelBenchReport(machineThreads: ProcessInfo.processInfo.activeProcessorCount,
                                           minTimeSeconds: minTime, rows: rows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(report), to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }

    func selected(_ name: String) -> Bool { filter.map { name.contains($0) } ?? true }

    /// Best wall time and best calling-thread CPU time of `body` over repetitions filling
    /// `minTime` (at least 3), after one warm-up. On one thread the CPU time leaves out time the
    /// thread spent preempted, which matters when other work shares the cores.
    func best(_ body: () -> Void) -> BenchTiming {
        body()
        var timing = BenchTiming(wall: .infinity, cpu: .infinity)
        var total = 0.0, reps = 0
        while reps < 3 || (total < minTime && reps < 1000) {
            let c0 = BenchTiming.threadCPUSeconds()
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            timing.cpu = min(timing.cpu, BenchTiming.threadCPUSeconds() - c0)
            timing.wall = min(timing.wall, dt)
            total += dt
            reps += 1
        }
        return timing
    }

    func timeSira(_ c: KernelBenchCase, threads: Int) -> BenchTiming {
        let a = BenchMatrix(count: c.m * c.k), b = BenchMatrix(count: c.k * c.n), out = BenchMatrix(count: c.m * c.n)
        defer { a.free(); b.free(); out.free() }
        let lda = c.transA == .noTranspose ? c.k : c.m, ldb = c.transB == .noTranspose ? c.n : c.k
        return best {
            sgemm(c.transA, c.transB, m: c.m, n: c.n, k: c.k, alpha: 1, a: a.pointer, lda: lda,
                  b: b.pointer, ldb: ldb, beta: 0, c: out.pointer, ldc: c.n, threads: threads)
        }
    }

    /// The grouped expert GEMM against one dense GEMM over the same total rows.
    func timeGrouped(_ g: GroupedBenchCase, threads: Int) -> [KernelBenchRow] {
        let total = g.rowCounts.reduce(0, +)
        let x = BenchMatrix(count: total * g.k), w = BenchMatrix(count: g.experts * g.k * g.n)
        let out = BenchMatrix(count: total * g.n)
        defer { x.free(); w.free(); out.free() }
        let grouped = best {
            sgemmGrouped(.transpose, rowCounts: g.rowCounts, n: g.n, k: g.k, alpha: 1, a: x.pointer, lda: g.k,
                         b: w.pointer, ldb: g.k, strideB: g.k * g.n, beta: 0, c: out.pointer, ldc: g.n, threads: threads)
        }
        let dense = best {
            sgemm(.noTranspose, .transpose, m: total, n: g.n, k: g.k, alpha: 1, a: x.pointer, lda: g.k,
                  b: w.pointer, ldb: g.k, beta: 0, c: out.pointer, ldc: g.n, threads: threads)
        }
        let flops = 2 * Double(total) * Double(g.n) * Double(g.k)
        return [KernelBenchRow(kind: "grouped", name: g.name, shape: "E=\(g.experts) k=2 rows=\(total) [rows x \(g.k)] x [\(g.k) x \(g.n)] max/min load \(g.rowCounts.max()!)/\(g.rowCounts.min()!)",
                               threads: threads, flops: flops, sira: grouped, peer: nil, dense: dense)]
    }

    func printTable(_ rows: [KernelBenchRow], threadCounts: [Int]) {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        func f(_ v: Double?, _ format: String = "%.1f") -> String { v.map { String(format: format, $0) } ?? "-" }
        print("GFLOP/s, best repetition. wall = elapsed time; cpu = calling-thread CPU time (1 thread only);")
        print("/dense = grouped time over one dense GEMM with the same total rows (wall, then cpu).")
        print(pad("case", 24) + lpad("thr", 4) + lpad("sira", 8) + lpad("BLAS", 8) + lpad("%", 6)
              + lpad("sira cpu", 10) + lpad("BLAS cpu", 10) + lpad("% cpu", 7) + lpad("dense", 8) + lpad("/dense", 8) + lpad("cpu", 6) + "  shape")
        for r in rows {
            print(pad(r.name, 24) + lpad("\(r.threads)", 4) + lpad(f(r.siraGflops), 8) + lpad(f(r.peerGflops), 8)
                  + lpad(f(r.percentOfPeer, "%.0f"), 6) + lpad(f(r.siraCPUGflops), 10) + lpad(f(r.peerCPUGflops), 10)
                  + lpad(f(r.percentOfPeerCPU, "%.0f"), 7) + lpad(f(r.denseGflops), 8) + lpad(f(r.timeOverDense, "%.2f"), 8) + lpad(f(r.timeOverDenseCPU, "%.2f"), 6)
                  + "  " + r.shape)
        }
    }
}

/// One timed GEMM shape.
struct KernelBenchCase: Codable {
    var kind: String
    var name: String
    var m: Int, n: Int, k: Int
    var ta: Bool, tb: Bool
    var sira = BenchTiming(wall: 0, cpu: 0)

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
    /// On one thread: the same ratio from thread CPU times (robust to preemption).
    var siraCPUGflops: Double? { threads == 1 ? flops / sira.cpu / 1e9 : nil }
    var peerCPUGflops: Double? { threads == 1 ? peer.map { flops / $0.cpu / 1e9 } : nil }
    var percentOfPeerCPU: Double? { threads == 1 ? peer.map { 100 * $0.cpu / sira.cpu } : nil }
    var denseGflops: Double? { dense.map { flops / $0.wall / 1e9 } }
    var timeOverDense: Double? { dense.map { sira.wall / $0.wall } }
    var timeOverDenseCPU: Double? { threads == 1 ? dense.map { sira.cpu / $0.cpu } : nil }

    init(kind: String, name: String, shape: String, threads: Int, flops: Double, sira: BenchTiming,
         peer: BenchTiming?, dense: BenchTiming?) {
        self.kind = kind; self.name = name; self.shape = shape; self.threads = threads; self.flops = flops
        self.sira = sira; self.peer = peer; self.dense = dense
    }

    init(_ c: KernelBenchCase, threads: Int, peer: BenchTiming?) {
        let shape = "[\(c.m) x \(c.k)] x [\(c.k) x \(c.n)] \(c.ta ? "T" : "N")\(c.tb ? "T" : "N")"
        self.init(kind: c.kind, name: c.name, shape: shape, threads: threads, flops: 2 * Double(c.m) * Double(c.n) * Double(c.k),
                  sira: c.sira, peer: peer, dense: nil)
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
        if threads == 1 {
            try c.encode(sira.cpu, forKey: .siraCPUSeconds); try c.encodeIfPresent(peer?.cpu, forKey: .peerCPUSeconds)
            try c.encodeIfPresent(dense?.cpu, forKey: .denseCPUSeconds); try c.encodeIfPresent(timeOverDenseCPU, forKey: .timeOverDenseCPU)
        }
        try c.encode(siraGflops, forKey: .siraGflops)
        try c.encodeIfPresent(peerGflops, forKey: .peerGflops); try c.encodeIfPresent(percentOfPeer, forKey: .percentOfPeer)
        try c.encodeIfPresent(siraCPUGflops, forKey: .siraCPUGflops); try c.encodeIfPresent(peerCPUGflops, forKey: .peerCPUGflops)
        try c.encodeIfPresent(percentOfPeerCPU, forKey: .percentOfPeerCPU)
        try c.encodeIfPresent(denseGflops, forKey: .denseGflops); try c.encodeIfPresent(timeOverDense, forKey: .timeOverDense)
    }
}

/// Best wall-clock and best calling-thread CPU seconds of one case.
struct BenchTiming: Codable {
    var wall: Double
    var cpu: Double

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

struct KernelBenchReport: Encodable {
    var machineThreads: Int
    var minTimeSeconds: Double
    var peer = "numpy.matmul (OpenBLAS), OPENBLAS_NUM_THREADS = threads"
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

/// Times the same GEMM shapes with numpy in a `python3` subprocess (`OPENBLAS_NUM_THREADS`).
enum NumpyPeer {
    static let script = """
    import json, sys, time
    import numpy as np
    cases, min_time = json.loads(sys.argv[1]), float(sys.argv[2])
    rng = np.random.default_rng(0)
    out = []
    for c in cases:
        m, n, k = c["m"], c["n"], c["k"]
        A = rng.uniform(-1, 1, (k, m) if c["ta"] else (m, k)).astype(np.float32)
        B = rng.uniform(-1, 1, (n, k) if c["tb"] else (k, n)).astype(np.float32)
        a = A.T if c["ta"] else A
        b = B.T if c["tb"] else B
        C = np.empty((m, n), np.float32)
        np.matmul(a, b, out=C)
        best, cpu, total, reps = float("inf"), float("inf"), 0.0, 0
        while reps < 3 or (total < min_time and reps < 1000):
            c0 = time.thread_time(); t0 = time.perf_counter()
            np.matmul(a, b, out=C)
            dt = time.perf_counter() - t0; dc = time.thread_time() - c0
            best, cpu, total, reps = min(best, dt), min(cpu, dc), total + dt, reps + 1
        out.append({"wall": best, "cpu": cpu})
    print(json.dumps(out))
    """

    static func time(_ cases: [KernelBenchCase], threads: Int, minTime: Double) throws -> [BenchTiming?] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let payload = String(decoding: try JSONEncoder().encode(cases), as: UTF8.self)
        process.arguments = ["python3", "-c", script, payload, String(minTime)]
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = String(threads)
        process.environment = env
        let pipe = Pipe(), errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let times = try? JSONDecoder().decode([BenchTiming].self, from: data) else {
            throw ValidationError("numpy peer failed (python3 with numpy needed; --no-peer skips it): \(errorText)")
        }
        return times
    }
}
