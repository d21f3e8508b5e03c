import Config
import Logging
import NP6Model
import Subprocess
import SyncStore
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `"type": "command"`: runs `argv` (no shell) once per batch with the records as JSON lines on
/// its standard input.
///
/// Exit status 0 acknowledges the batch. Status 65 (`EX_DATAERR`) rejects it for good — set it
/// aside with `deadLetter`, else the sink stops. Any other status, a death by signal or a
/// timeout (SIGTERM, then SIGKILL 5 s later) is transient: the batch is run again with backoff.
/// A program that cannot be started refuses the sink. Each line the program writes on standard
/// error is logged at warning with `sink.name`; its standard output is discarded.
///
/// The program gets an allow-listed environment, never the daemon's own: `PATH`, `LANG`,
/// `LC_*`, `TZ` and `HOME` as the daemon has them, `NP6_SYNC_SINK` (the sink's name), and the
/// sink's `env` object, which wins over an inherited value. Nothing else of the daemon's
/// reaches it: not `NP6_API_KEY`, `CREDENTIALS_DIRECTORY` or `NOTIFY_SOCKET`.
///
/// The program is run with swift-subprocess, which starts it with an empty signal mask and
/// every signal at its default action, whatever the spawning thread blocks (Swift's pool
/// threads block most signals) or the daemon ignores (ServiceLifecycle traps SIGTERM and
/// SIGHUP): SIGTERM reaches it.
public struct CommandSink: EventSink {
    /// The exit status that rejects a batch for good (`EX_DATAERR` in sysexits.h).
    public static let rejectingExitStatus: Int32 = 65

    public let name: String
    /// `argv`: the program (a path, or a name looked up in `PATH`) and its arguments.
    let arguments: [String]
    /// After this the program gets SIGTERM.
    var timeout: Duration
    /// What `timeout` is measured on; tests pass a manual clock. (The SIGTERM-to-SIGKILL grace
    /// is swift-subprocess's own, on real time.)
    var clock: any Clock<Duration>
    /// How long a program has after SIGTERM before SIGKILL.
    var killGrace: Duration = .seconds(5)
    /// How many of the last lines of standard error the error messages quote.
    var stderrTailLines = 10
    /// The program's whole environment (see ``childEnvironment(name:configured:inheritedFrom:)``).
    let environment: [String: String]
    let logger: Logger

    /// - Parameters:
    ///   - daemonEnvironment: the daemon's environment, from which only the allow-listed
    ///     variables are passed on.
    ///   - clock: what the run's `timeout` is measured on.
    public init(
        name: String,
        configuration: CommandSinkConfiguration,
        logger: Logger,
        daemonEnvironment: [String: String],
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.name = name
        self.arguments = configuration.arguments
        self.timeout = configuration.timeout
        self.clock = clock
        self.environment = Self.childEnvironment(
            name: name, configured: configuration.environment, inheritedFrom: daemonEnvironment)
        self.logger = logger
    }

    /// The variables a program inherits from the daemon: what a program needs to find programs,
    /// read and write text and tell the time, and nothing that could carry a credential.
    public static let inheritedVariables: Set<String> = ["PATH", "LANG", "TZ", "HOME"]

    /// The program's environment: the allow-listed variables of `daemon` (``inheritedVariables``
    /// and every `LC_*`), then the sink's `env`, then `NP6_SYNC_SINK`.
    public static func childEnvironment(
        name: String, configured: [String: String], inheritedFrom daemon: [String: String]
    ) -> [String: String] {
        var environment = daemon.filter { key, _ in inheritedVariables.contains(key) || key.hasPrefix("LC_") }
        environment.merge(configured) { _, configured in configured }
        environment[CommandSinkConfiguration.sinkNameVariable] = name
        return environment
    }

    public func deliver(_ batch: [StoredEvent]) async throws {
        let program = arguments[0]
        let outcome = try await run(input: batch.recordLines)
        let said = outcome.stderrTail.isEmpty ? "" : ": " + outcome.stderrTail.joined(separator: " | ")
        switch outcome.termination {
        case .exited(0):
            return
        case .exited(Self.rejectingExitStatus):
            throw SinkError.permanent(reason: "\(program) exited with status \(Self.rejectingExitStatus)\(said)")
        case .exited(let status):
            throw SinkError.transient(reason: "\(program) exited with status \(status)\(said)", retryAfter: nil)
        case .signaled(let signal):
            throw SinkError.transient(reason: "\(program) was killed by signal \(signal)\(said)", retryAfter: nil)
        case nil:
            throw SinkError.transient(
                reason: "\(program) did not finish within \(timeout) and was killed\(said)", retryAfter: nil)
        }
    }

    /// How a run ended: `termination` is `nil` when the program outlived `timeout` and was
    /// stopped (SIGTERM, then SIGKILL after `killGrace`).
    struct Outcome: Sendable {
        var termination: TerminationStatus?
        /// The last lines of standard error, for error messages.
        var stderrTail: [String]
    }

    /// Runs the program on `input`, logging each line of its standard error.
    ///
    /// - Throws: ``SinkError/refused(reason:)`` when the program cannot be started.
    func run(input: [UInt8]) async throws -> Outcome {
        _ = Self.brokenPipeIgnored
        let program = arguments[0]
        var options = PlatformOptions()
        // Run on timeout (the run is cancelled) and when the sink's task is cancelled; the
        // sequence ends with SIGKILL. No process group: the program alone is signalled.
        options.teardownSequence = [.send(signal: .terminate, allowedDurationToNextStep: killGrace)]
        let configuration = Configuration(
            executable: program.contains("/") ? .path(FilePath(program)) : .name(program),
            arguments: Arguments(Array(arguments.dropFirst())),
            // `.custom`: exactly these variables, nothing inherited. A program named without a
            // `/` is looked up in this `PATH` (or, without one, in the daemon's).
            environment: .custom(
                Dictionary(
                    uniqueKeysWithValues: environment.compactMap { key, value in
                        Environment.Key(rawValue: key).map { ($0, value) }
                    })),
            platformOptions: options)
        return try await withThrowingTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                do {
                    let result = try await Subprocess.run(
                        configuration, input: .inputWriter, output: .discarded, error: .sequence
                    ) { execution in
                        // Both at once: a program may fill its stderr pipe before reading stdin.
                        async let fed: Void = Self.write(input, to: execution.standardInputWriter)
                        // Not cancelled with the run: on a timeout the run is cancelled, which
                        // stops the program (SIGTERM, then SIGKILL), and what it writes meanwhile
                        // is still read and logged. Reading ends when the program is gone.
                        let tail = await Task { await logLines(of: execution.standardError) }.value
                        await fed
                        return tail
                    }
                    return Outcome(termination: result.terminationStatus, stderrTail: result.closureResult)
                } catch let error as SubprocessError where error.code == .executableNotFound && !program.contains("/") {
                    throw SinkError.refused(reason: "\(program): no such executable (looked in PATH)")
                } catch let error as SubprocessError
                    where [.executableNotFound, .spawnFailed, .failedToChangeWorkingDirectory].contains(error.code)
                {
                    throw SinkError.refused(reason: "cannot start \(program): \(error)")
                }
            }
            group.addTask { [clock, timeout] in
                // Also ends when the sink's task is cancelled: the program is stopped the same way.
                try? await clock.sleep(for: timeout)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            if let finished = first { return finished }
            // Timed out: cancelling the run tears the program down; wait for it to be gone.
            let stopped = try? await group.next()
            return Outcome(termination: nil, stderrTail: stopped??.stderrTail ?? [])
        }
    }

    /// Writes the batch and closes standard input. A program may exit without reading all of
    /// it (EPIPE): its exit status decides, so write errors are not errors here.
    private static func write(_ input: [UInt8], to writer: StandardInputWriter) async {
        _ = try? await writer.write(input)
        try? await writer.finish()
    }

    /// Logs each line of standard error until it ends (or the program exits: a grandchild that
    /// keeps it open is not waited for) and returns the last `stderrTailLines`. Empty lines
    /// are skipped and a trailing CR dropped; there is no length limit.
    private func logLines(of stderr: SubprocessOutputSequence) async -> [String] {
        var tail: [String] = []
        let lines = stderr.strings(separatedBy: .unicodeScalarSequence(["\n"]), bufferingPolicy: .unbounded)
        do {
            for try await var line in lines {
                if line.hasSuffix("\r") { line.removeLast() }
                guard !line.isEmpty else { continue }
                logger.warning("Command sink wrote to stderr", metadata: ["command.stderr": "\(line)"])
                tail.append(line)
                if tail.count > stderrTailLines { tail.removeFirst() }
            }
        } catch {
            // A failed read ends the logging, not the run: the exit status still decides.
        }
        return tail
    }

    /// swift-subprocess writes standard input with plain `write(2)`, and 1.0.2 does not guard
    /// against SIGPIPE: a program that exits without reading its whole batch would raise it,
    /// and its default action ends the daemon. Ignore it process-wide, as SwiftNIO already
    /// does on Linux when it opens its first socket; the program itself starts with SIGPIPE at
    /// its default action (subprocess resets every signal).
    private static let brokenPipeIgnored: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()
}
