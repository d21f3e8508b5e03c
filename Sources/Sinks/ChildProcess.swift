import Foundation
import Synchronization
import Config
import NP6Model
import SyncStore

/// Runs a program without a shell, feeds it bytes on standard input, hands each line of its
/// standard error to a callback, and kills it when it outlives its timeout (SIGTERM, then
/// SIGKILL after a grace period). Its standard output is discarded.
struct ChildProcess {
    enum Termination: Sendable, Hashable {
        case exited(Int32)
        case signalled(Int32)
        /// Killed after `timeout`.
        case timedOut
    }

    struct Outcome: Sendable {
        var termination: Termination
        /// The last lines of standard error, for error messages.
        var stderrTail: [String]
    }

    enum Failure: Error, CustomStringConvertible {
        case notFound(String)
        case cannotStart(String, reason: String)

        var description: String {
            switch self {
            case .notFound(let program): "\(program): no such executable (looked in PATH)"
            case .cannotStart(let program, let reason): "cannot start \(program): \(reason)"
            }
        }
    }

    var arguments: [String]
    var timeout: Duration
    var killGrace: Duration = .seconds(5)
    var stderrTailLines = 10

    func run(input: [UInt8], onStderrLine: @escaping @Sendable (String) -> Void) async throws -> Outcome {
        let program = arguments[0]
        guard let executable = Self.resolve(program) else { throw Failure.notFound(program) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        let exited = OneShot<Termination>()
        process.terminationHandler = { process in
            exited.fulfil(
                process.terminationReason == .uncaughtSignal
                    ? .signalled(process.terminationStatus) : .exited(process.terminationStatus))
        }
        let started = OneShot<Result<Int32, Failure>>()
        let spawner = Thread { [process = UncheckedSendable(process), writer = stdin.fileHandleForWriting] in
            // The child inherits the spawning thread's signal mask, and the threads of Swift's
            // pools block most signals: from one of them the program could not be stopped
            // with SIGTERM. Spawn from a thread that blocks nothing.
            var nothing = sigset_t()
            sigemptyset(&nothing)
            pthread_sigmask(SIG_SETMASK, &nothing, nil)
            do {
                try process.value.run()
            } catch {
                started.fulfil(.failure(.cannotStart(program, reason: "\(error.localizedDescription)")))
                return
            }
            started.fulfil(.success(process.value.processIdentifier))
            // EPIPE when the program exits without reading all its input: its exit status decides.
            _ = BlockingIO.writeAll(input, to: writer.fileDescriptor)
            try? writer.close()
        }
        spawner.start()
        // Not cancellable: once started, the program is supervised below (cancelled, it is killed).
        let pid = try await started.waitIgnoringCancellation().get()

        let stderrDone = OneShot<[String]>()
        let reader = stderr.fileHandleForReading
        let tailLines = stderrTailLines
        DispatchQueue.global().async {
            stderrDone.fulfil(Self.readLines(reader.fileDescriptor, keepingLast: tailLines, onStderrLine))
        }

        var termination = await exited.wait(upTo: timeout)
        if termination == nil {
            kill(pid, SIGTERM)
            if await exited.wait(upTo: killGrace) == nil {
                kill(pid, SIGKILL)
                _ = await exited.wait()
            }
            termination = .timedOut
        }
        // A grandchild may keep standard error open: do not wait for it for long.
        let tail = await stderrDone.wait(upTo: .seconds(1)) ?? []
        return Outcome(termination: termination ?? .timedOut, stderrTail: tail)
    }

    /// The program's path: as given when it contains a `/`, else the first match in `PATH`.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return program }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    private static func readLines(
        _ fd: Int32,
        keepingLast count: Int,
        _ onLine: @Sendable (String) -> Void
    ) -> [String] {
        var tail: [String] = []
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        func emit(_ bytes: ArraySlice<UInt8>) {
            var line = String(decoding: bytes, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            guard !line.isEmpty else { return }
            onLine(line)
            tail.append(line)
            if tail.count > count { tail.removeFirst() }
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            pending += buffer[..<n]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                emit(pending[..<newline])
                pending.removeSubrange(...newline)
            }
        }
        emit(pending[...])
        return tail
    }
}

/// Hands a non-Sendable value to the one thread that uses it next.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
