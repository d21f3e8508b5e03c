import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// Runs the built `np6-sync` binary as a separate process, as an operator or systemd would.
enum Binary {
    /// `.build/<triple>/debug/np6-sync`, beside the test bundle (or `$NP6_SYNC_BINARY`).
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["NP6_SYNC_BINARY"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        // Inside an .xctest bundle on some platforms: walk up to the products directory.
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("np6-sync")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            directory.deleteLastPathComponent()
        }
        return "np6-sync-not-built"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs to completion (killed after `timeout` seconds) with `environment` added to a clean one.
    ///
    /// Waits without blocking a thread: the tests share the concurrency pool, which has as many
    /// threads as the machine has cores (two here), with every other test running in parallel.
    static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: String? = nil,
        timeout: TimeInterval = 60
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = baseEnvironment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes while the process runs, so a full pipe never blocks it.
        let collected = Collected()
        let group = DispatchGroup()
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isOut: isOut)
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            process.terminate()
            Issue.record("np6-sync \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }
        process.waitUntilExit()
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        return Result(status: process.terminationStatus, stdout: collected.stdout, stderr: collected.stderr)
    }

    /// The environment without anything that would change np6-sync's behaviour from outside.
    static var baseEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { key, _ in
            ![
                "NP6_API_KEY", "NP6_SYNC_CONFIG", "CREDENTIALS_DIRECTORY", "STATE_DIRECTORY", "JOURNAL_STREAM",
                "NOTIFY_SOCKET", "NP6_DATABASE_PASSWORD",
            ]
            .contains(key)
        }
    }

    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var out = Data(), err = Data()
        func set(_ data: Data, isOut: Bool) {
            lock.lock()
            defer { lock.unlock() }
            if isOut { out = data } else { err = data }
        }
        var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
        var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
    }
}

/// `np6-sync fake-api` running as its own process on a free port, stopped at the end of `body`.
func withFakeAPIProcess<T>(
    arguments: [String],
    apiKey: String,
    _ body: (_ baseURL: String) async throws -> T
) async throws -> T {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Binary.path)
    process.arguments = ["fake-api", "--port", "0"] + arguments
    process.environment = Binary.baseEnvironment.merging(["NP6_FAKE_API_KEY": apiKey]) { $1 }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    defer {
        process.terminate()
        process.waitUntilExit()
    }
    // The first line says where it listens: "fake NP6 API listening on http://127.0.0.1:PORT".
    // Read on a dispatch thread, not one of the concurrency pool's few.
    let handle = out.fileHandleForReading
    let line = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            var buffer = Data()
            while !buffer.contains(UInt8(ascii: "\n")) {
                let chunk = handle.availableData
                guard !chunk.isEmpty else { break }
                buffer.append(chunk)
            }
            continuation.resume(returning: String(decoding: buffer, as: UTF8.self))
        }
    }
    guard let range = line.range(of: "http://") else {
        throw FakeProcessError(message: "fake-api did not start: \(line)")
    }
    let baseURL = String(line[range.lowerBound...].prefix { !$0.isWhitespace })
    return try await body(baseURL)
}

struct FakeProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A GET on loopback, for the fake's admin routes.
func httpGet(_ url: String) async throws -> Data {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 256 << 20)
    return Data(body.readableBytesView)
}
