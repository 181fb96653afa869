import ArgumentParser
import Foundation
import SiraIO
import SiraKernels

/// `sira-pipeline bench kernels`: GFLOP/s of the SiraKernels GEMMs next to numpy's matmul
/// (OpenBLAS) at the same shapes, thread counts and in the same run (issue #2's figures).
///
/// The machine is shared, so each case alternates between ours and the peer for `--rounds`
/// rounds (the peer is one long-lived `python3` per thread count) and keeps each side's best
/// repetition: both sides see the same load. CPU-time figures sit next to the wall-clock ones.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "GEMM, skinny LoRA and grouped expert GEMM throughput vs numpy/OpenBLAS.")

    @Option(help: "Threads for the multi-threaded rows (default: all active processors).")
    var threads: Int?

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    @Option(help: "Minimum seconds of timed repetitions per case, side and round (best repetition is reported).")
    var minTime: Double = 0.15

    @Option(help: "Rounds per case, alternating ours and the peer (or grouped and dense).")
    var rounds: Int = 3

    @Option(help: "Largest square GEMM size to run (256, 512, 1024, 2048).")
    var maxSize: Int = 2048

    @Option(help: "Run only the cases whose name contains this text (e.g. \"gemm 1024\", \"grouped E=16\").")
    var filter: String?

    @Flag(help: "Skip the numpy/OpenBLAS peer.")
    var noPeer = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if minTime <= 0 { throw ValidationError("--min-time must be positive") }
        if rounds < 1 { throw ValidationError("--rounds must be at least 1") }
    }

    func run() throws {
        let many = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let threadCounts = many > 1 ? [1, many] : [1]
        KernelThreads.count = many
        var rows: [KernelBenchRow] = []
        for t in threadCounts {
            let cases = KernelBenchCase.gemmCases(maxSize: maxSize).filter { selected($0.name) }
            let peer = noPeer || cases.isEmpty ? nil : try NumpyPeer(threads: t)
            defer { peer?.close() }
            for c in cases {
                let ours = BenchOperands(c)
                defer { ours.free() }
                var sira = BenchTiming.none, blas: BenchTiming? = peer == nil ? nil : BenchTiming.none
                for _ in 0..<rounds {
                    sira = sira.merged(best { ours.run(threads: t) })
                    if let peer { blas = blas?.merged(try peer.time(c, minTime: minTime)) }
                }
                rows.append(KernelBenchRow(c, threads: t, sira: sira, peer: blas))
            }
            for g in KernelBenchCase.groupedCases() where selected(g.name) {
                rows.append(timeGrouped(g, threads: t))
            }
            rows.append(contentsOf: timeSiraOps(threads: t))
        }
        printTable(rows)
        if let json {
            let report = KernelBenchReport(machineThreads: ProcessInfo.processInfo.activeProcessorCount,
                                           minTimeSeconds: minTime, rounds: rounds, rows: rows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(report), to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }

    func selected(_ name: String) -> Bool { filter.map { $0.isEmpty || name.contains($0) } ?? true }

    /// Best wall time and best process CPU time of `body` over repetitions filling `minTime`
    /// (at least 3), after one warm-up.
    func best(_ body: () -> Void) -> BenchTiming {
        body()
        var timing = BenchTiming.none
        var total = 0.0, reps = 0
        while reps < 3 || (total < minTime && reps < 1000) {
            let c0 = BenchTiming.processCPUSeconds()
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            timing = timing.merged(BenchTiming(wall: dt, cpu: BenchTiming.processCPUSeconds() - c0))
            total += dt
            reps += 1
        }
        return timing
    }

    /// The grouped expert GEMM against one dense GEMM over the same total rows, alternating.
    func timeGrouped(_ g: GroupedBenchCase, threads: Int) -> KernelBenchRow {
        let total = g.rowCounts.reduce(0, +)
        let x = BenchMatrix(count: total * g.k), w = BenchMatrix(count: g.experts * g.k * g.n)
        let out = BenchMatrix(count: total * g.n)
        defer { x.free(); w.free(); out.free() }
        var grouped = BenchTiming.none, dense = BenchTiming.none
        for _ in 0..<rounds {
            grouped = grouped.merged(best {
                sgemmGrouped(.transpose, rowCounts: g.rowCounts, n: g.n, k: g.k, alpha: 1, a: x.pointer, lda: g.k,
                             b: w.pointer, ldb: g.k, strideB: g.k * g.n, beta: 0, c: out.pointer, ldc: g.n, threads: threads)
            })
            dense = dense.merged(best {
                sgemm(.noTranspose, .transpose, m: total, n: g.n, k: g.k, alpha: 1, a: x.pointer, lda: g.k,
                      b: w.pointer, ldb: g.k, beta: 0, c: out.pointer, ldc: g.n, threads: threads)
            })
        }
        let flops = 2 * Double(total) * Double(g.n) * Double(g.k)
        return KernelBenchRow(kind: "grouped", name: g.name,
                              shape: "E=\(g.experts) k=2 rows=\(total) [rows x \(g.k)] x [\(g.k) x \(g.n)] max/min load \(g.rowCounts.max()!)/\(g.rowCounts.min()!)",
                              threads: threads, flops: flops, sira: grouped, peer: nil, dense: dense)
    }

    /// SiRA's expert GEMMs with row tables and the fused combine, each against a dense GEMM.
    func timeSiraOps(threads: Int) -> [KernelBenchRow] {
        let bench = SiraOpsBench()
        var out: [KernelBenchRow] = []
        for (name, flops, ours, dense) in bench.cases(threads: threads) where selected(name) {
            var sira = BenchTiming.none, plain = BenchTiming.none
            for _ in 0..<rounds {
                sira = sira.merged(best(ours))
                plain = plain.merged(best(dense))
            }
            out.append(KernelBenchRow(kind: "sira", name: name,
                                      shape: "T=\(SiraOpsBench.tokens) E=\(SiraOpsBench.experts) k=\(SiraOpsBench.topK) r=\(SiraOpsBench.rank) d=\(SiraOpsBench.dim), \(bench.rows) rows; dense: one GEMM, contiguous rows",
                                      threads: threads, flops: flops, sira: sira, peer: nil, dense: plain))
        }
        return out
    }

    func printTable(_ rows: [KernelBenchRow]) {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        func f(_ v: Double?, _ format: String = "%.1f") -> String { v.map { String(format: format, $0) } ?? "-" }
        print("GFLOP/s, best repetition over \(rounds) alternating rounds. wall = elapsed time;")
        print("cpu = flops x threads / process CPU seconds (ignores time preempted by other processes;")
        print("  OpenBLAS worker threads spin while waiting, which counts against it at 2+ threads).")
        print("/dense = grouped time over one dense GEMM with the same total rows (wall, then cpu).")
        print(pad("case", 24) + lpad("thr", 4) + lpad("sira", 8) + lpad("BLAS", 8) + lpad("%", 6)
              + lpad("sira cpu", 10) + lpad("BLAS cpu", 10) + lpad("% cpu", 7) + lpad("dense", 8) + lpad("/dense", 8) + lpad("cpu", 6) + "  shape")
        for r in rows {
            print(pad(r.name, 24) + lpad("\(r.threads)", 4) + lpad(f(r.siraGflops), 8) + lpad(f(r.peerGflops), 8)
                  + lpad(f(r.percentOfPeer, "%.0f"), 6) + lpad(f(r.siraCPUGflops), 10) + lpad(f(r.peerCPUGflops), 10)
                  + lpad(f(r.percentOfPeerCPU, "%.0f"), 7) + lpad(f(r.denseGflops), 8) + lpad(f(r.timeOverDense, "%.2f"), 8)
                  + lpad(f(r.timeOverDenseCPU, "%.2f"), 6) + "  " + r.shape)
        }
    }
}
