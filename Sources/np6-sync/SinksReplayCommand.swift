import ArgumentParser
import Config
import Foundation
import Logging
import NP6Model
import NP6Sync
import Sinks
import SyncStore

struct SinksReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Deliver events to a sink again: move its cursor back, or re-send its dead letters.",
        discussion: """
            --from-seq N delivers again every event from seq N on; --since TIME every event stamped \
            or stored at or after TIME, and all that follow it. The cursor never moves forward, so \
            nothing undelivered is skipped, and a stopped sink resumes. A running daemon picks the \
            change up within a second. --dead-letters re-sends the sink's dead letters now, one \
            event per delivery. Every replay starts a new delivery generation: webhook batches \
            go out under new Idempotency-Keys. Exit codes: 0 ok, 1 some dead letters were rejected again or the \
            receiver failed, 64 an unknown sink name or wrong options, 78 configuration.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The sink's name, as in the config.")
    var name: String

    @Option(help: "Deliver again every event whose seq is at least this.")
    var fromSeq: Int64?

    @Option(
        help:
            "Deliver again from the first event stamped or stored at or after this time: ISO-8601, ms since the epoch, or an age like 90m, 24h, 7d."
    )
    var since: String?

    @Flag(help: "Re-send the sink's dead letters.")
    var deadLetters = false

    @Option(help: "Log level on stderr, instead of the config's logging.level (for --dead-letters).")
    var logLevel: Logger.Level?

    func validate() throws {
        let chosen = [fromSeq != nil, since != nil, deadLetters].filter { $0 }.count
        guard chosen == 1 else {
            throw ValidationError("give exactly one of --from-seq N, --since TIME, --dead-letters")
        }
        if let fromSeq, fromSeq < 1 { throw ValidationError("--from-seq must be at least 1") }
        if let since, EventsCommand.parseSince(since, nowMs: WallClock.nowMs()) == nil {
            throw ValidationError(
                "--since takes an ISO-8601 time, ms since the epoch, or an age like 90m, 24h, 7d; got \"\(since)\"")
        }
    }

    func run() async throws {
        try await runReportingErrors {
            let configuration = try options.loadConfiguration()
            guard configuration.sinks.contains(where: { $0.name == name }) else {
                printError("\(SinkSupervisorError.unknownSink(name, configured: configuration.sinks.map(\.name)))")
                throw ExitCode(64)
            }
            let runtime = try await options.openRuntime(.writing, configuration: configuration)
            let now = WallClock.nowMs()
            if deadLetters {
                try await resendDeadLetters(configuration, runtime: runtime)
                return
            }
            let rewind =
                if let fromSeq {
                    try await runtime.database.rewindSinkCursor(name, toRedeliverFromSeq: fromSeq, now: now)
                } else {
                    try await runtime.database.rewindSinkCursor(
                        name, toRedeliverSinceMs: EventsCommand.parseSince(since ?? "", nowMs: now) ?? now, now: now)
                }
            switch rewind.previousSeq {
            case let previous? where previous > rewind.deliveredSeq:
                print(
                    "\(name): cursor moved back from \(previous) to \(rewind.deliveredSeq); events after it will be delivered again"
                )
            case let previous?:
                print(
                    "\(name): cursor left at \(previous) (nothing delivered after that point); the sink resumes if it was stopped"
                )
            case nil:
                print("\(name): cursor set to \(rewind.deliveredSeq); the sink has not run yet")
            }
        }
    }

    private func resendDeadLetters(_ configuration: SyncConfiguration, runtime: Runtime) async throws {
        let logger = bootstrapLogging(
            level: logLevel ?? Logger.Level(rawValue: configuration.logging.level.rawValue) ?? .info,
            format: LineLogHandler.Format(rawValue: configuration.logging.format.rawValue) ?? .logfmt)
        let supervisor = SinkSupervisor(database: runtime.database, sinks: configuration.sinks, logger: logger)
        let report = try await supervisor.resendDeadLetters(of: name)
        print(
            "\(name): \(report.resent) dead letters resent, \(report.rejected) rejected again, \(report.missing) whose event is gone"
        )
        if let error = report.error { printError("\(name): resend stopped: \(error)") }
        if report.rejected > 0 || report.error != nil { throw ExitCode.failure }
    }
}
