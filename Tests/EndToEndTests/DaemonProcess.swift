import Foundation

/// `np6-sync run` as a background process, its stderr collected, for signal tests.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var stderrData = Data()

    init(arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = ["run"] + arguments
        process.environment = Binary.baseEnvironment.merging(environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.stderrData.append(data) }
        }
        try process.run()
    }

    var stderr: String { lock.withLock { String(decoding: stderrData, as: UTF8.self) } }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits until the log contains `text`, at most `timeout` seconds.
    func waitForLog(_ text: String, timeout: TimeInterval = 60) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stderr.contains(text) { return true }
            if !process.isRunning { return stderr.contains(text) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Waits for the process to exit; returns its status and how long the wait took, or nil on timeout (then kills it).
    func waitForExit(timeout: TimeInterval) async -> (status: Int32, seconds: Double)? {
        let start = Date()
        while process.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                signal(SIGKILL)
                process.waitUntilExit()
                return nil
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (process.terminationStatus, Date().timeIntervalSince(start))
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
