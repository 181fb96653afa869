import Foundation
import Testing

/// Runs a Python 3 script (the independent reference: json, csv, the `tokenizers` library) and
/// returns its standard output. A missing python3 or a failing script fails the test loudly.
func runPython(_ script: String, arguments: [String] = [], environment: [String: String] = [:]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes fully before waiting so a large output cannot block the child.
    let errData = ErrorBox()
    let thread = Thread { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
    thread.start()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errData.done { usleep(1000) }
    guard process.terminationStatus == 0 else {
        throw PythonFailure(status: process.terminationStatus, stderr: String(decoding: errData.data ?? Data(), as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
}

private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _data: Data?
    private var _done = false
    var data: Data? {
        get { lock.withLock { _data } }
        set { lock.withLock { _data = newValue; _done = true } }
    }
    var done: Bool { lock.withLock { _done } }
}

struct PythonFailure: Error, CustomStringConvertible {
    let status: Int32
    let stderr: String
    var description: String { "python3 exited with status \(status) (is python3 with `tokenizers` installed? run scripts/setup.sh):\n\(stderr)" }
}
