import Logging
import SyncStore
import Config
import NP6Model

/// `"type": "command"`: runs `argv` (no shell) once per batch with the records as JSON lines on
/// its standard input.
///
/// Exit status 0 acknowledges the batch. Status 65 (`EX_DATAERR`) rejects it for good — set it
/// aside with `deadLetter`, else the sink stops. Any other status, a death by signal or a
/// timeout (SIGTERM, then SIGKILL 5 s later) is transient: the batch is run again with backoff.
/// A program that cannot be started refuses the sink. Each line the program writes on standard
/// error is logged at warning with `sink.name`; its standard output is discarded.
public struct CommandSink: EventSink {
    /// The exit status that rejects a batch for good (`EX_DATAERR` in sysexits.h).
    public static let rejectingExitStatus: Int32 = 65

    public let name: String
    let process: ChildProcess
    let logger: Logger

    public init(name: String, configuration: CommandSinkConfiguration, logger: Logger) {
        self.name = name
        self.process = ChildProcess(arguments: configuration.arguments, timeout: configuration.timeout)
        self.logger = logger
    }

    public func deliver(_ batch: [StoredEvent]) async throws {
        let program = process.arguments[0]
        let outcome: ChildProcess.Outcome
        do {
            outcome = try await process.run(input: batch.recordLines) { [logger] line in
                logger.warning("Command sink wrote to stderr", metadata: ["command.stderr": "\(line)"])
            }
        } catch let failure as ChildProcess.Failure {
            throw SinkError.refused(reason: failure.description)
        }
        let said = outcome.stderrTail.isEmpty ? "" : ": " + outcome.stderrTail.joined(separator: " | ")
        switch outcome.termination {
        case .exited(0):
            return
        case .exited(Self.rejectingExitStatus):
            throw SinkError.permanent(reason: "\(program) exited with status \(Self.rejectingExitStatus)\(said)")
        case .exited(let status):
            throw SinkError.transient(reason: "\(program) exited with status \(status)\(said)", retryAfter: nil)
        case .signalled(let signal):
            throw SinkError.transient(reason: "\(program) was killed by signal \(signal)\(said)", retryAfter: nil)
        case .timedOut:
            throw SinkError.transient(
                reason: "\(program) did not finish within \(process.timeout) and was killed\(said)", retryAfter: nil)
        }
    }
}
