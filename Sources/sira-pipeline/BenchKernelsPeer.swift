import ArgumentParser
import Foundation

/// numpy's `matmul` (OpenBLAS) as the peer of `bench kernels`: one long-lived `python3` per
/// thread count (`OPENBLAS_NUM_THREADS` is read at start), asked for one case at a time so its
/// timings interleave with ours under the same load. One JSON request line in, one JSON
/// `{"wall", "cpu"}` line out (best repetition; CPU is the process's, all threads).
final class NumpyPeer {
    static let script = """
    import json, sys, time
    import numpy as np
    rng = np.random.default_rng(0)
    key, a, b, C = None, None, None, None
    for line in sys.stdin:
        c = json.loads(line)
        m, n, k, min_time = c["m"], c["n"], c["k"], c["min_time"]
        if key != (m, n, k, c["ta"], c["tb"]):
            key = (m, n, k, c["ta"], c["tb"])
            A = rng.uniform(-1, 1, (k, m) if c["ta"] else (m, k)).astype(np.float32)
            B = rng.uniform(-1, 1, (n, k) if c["tb"] else (k, n)).astype(np.float32)
            a = A.T if c["ta"] else A
            b = B.T if c["tb"] else B
            C = np.empty((m, n), np.float32)
        np.matmul(a, b, out=C)
        best, cpu, total, reps = float("inf"), float("inf"), 0.0, 0
        while reps < 3 or (total < min_time and reps < 1000):
            c0 = time.process_time(); t0 = time.perf_counter()
            np.matmul(a, b, out=C)
            dt = time.perf_counter() - t0; dc = time.process_time() - c0
            best, cpu, total, reps = min(best, dt), min(cpu, dc), total + dt, reps + 1
        print(json.dumps({"wall": best, "cpu": cpu}), flush=True)
    """

    private let process = Process()
    private let input = Pipe(), output = Pipe(), errors = Pipe()
    private var pending = Data()

    init(threads: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script]
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = String(threads)
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Best wall and CPU seconds of numpy on `c`'s shape over repetitions filling `minTime`.
    func time(_ c: KernelBenchCase, minTime: Double) throws -> BenchTiming {
        struct Request: Encodable { var m, n, k: Int; var ta, tb: Bool; var min_time: Double }
        var line = try JSONEncoder().encode(Request(m: c.m, n: c.n, k: c.k, ta: c.ta, tb: c.tb, min_time: minTime))
        line.append(0x0A)
        try input.fileHandleForWriting.write(contentsOf: line)
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let reply = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                if let timing = try? JSONDecoder().decode(BenchTiming.self, from: reply) { return timing }
                throw ValidationError("numpy peer sent an unreadable reply: \(String(decoding: reply, as: UTF8.self))")
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else {
                let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw ValidationError("numpy peer failed (python3 with numpy needed; --no-peer skips it): \(errorText)")
            }
            pending.append(chunk)
        }
    }

    /// Ends the peer (closing its input ends its loop) and waits for it.
    func close() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
