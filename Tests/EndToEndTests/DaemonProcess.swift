import Foundation

/// `np6-sync run` as a background process, its stderr collected, for signal tests.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var stderrData = Data()

    /// - Parameter fileSizeLimit: RLIMIT_FSIZE in bytes (soft; the hard limit stays unlimited,
    ///   so ``raiseFileSizeLimit()`` can lift it), with SIGXFSZ ignored: a write past it fails
    ///   with EFBIG, as on a disk that refuses to grow the file.
    init(arguments: [String], environment: [String: String], fileSizeLimit: Int? = nil) throws {
        if let fileSizeLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments =
                [
                    "-c", #"trap '' XFSZ; exec prlimit --fsize=\#(fileSizeLimit):unlimited -- "$0" "$@""#,
                    Binary.path, "run",
                ] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Binary.path)
            process.arguments = ["run"] + arguments
        }
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

    /// Lifts the file size limit of the running daemon (`prlimit --pid`).
    func raiseFileSizeLimit() -> Bool {
        let prlimit = Process()
        prlimit.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        prlimit.arguments = ["--pid", "\(process.processIdentifier)", "--fsize=unlimited:unlimited"]
        guard (try? prlimit.run()) != nil else { return false }
        prlimit.waitUntilExit()
        return prlimit.terminationStatus == 0
    }

    /// Whether the process catches or ignores signal `number` yet (Linux: `/proc/PID/status`).
    /// Until it does, SIGHUP and SIGTERM still have their default action, which ends it; the
    /// daemon logs "np6-sync started" before its services set up their handlers.
    func handles(_ number: Int32) -> Bool {
        #if os(Linux)
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        else {
            return false
        }
        let bit = UInt64(1) << UInt64(number - 1)
        return status.split(separator: "\n").contains { line in
            guard line.hasPrefix("SigCgt:") || line.hasPrefix("SigIgn:") else { return false }
            let mask = UInt64(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
            return mask & bit != 0
        }
        #else
        return true
        #endif
    }

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
