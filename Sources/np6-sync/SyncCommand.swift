import ArgumentParser
import Config
import Logging
import NP6Client
import NP6Model
import NP6Sync
import Sinks
import SyncStore

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Poll every enabled contact once, store the new stop events, deliver them to the sinks, and exit.",
        discussion: """
            After the pass every configured sink is given what it has not acknowledged yet. \
            Exits 0 when every contact synced (contacts the API does not know are marked not_found \
            and do not count as failures) and every sink caught up, 1 when some contact or sink \
            failed (the next run retries from the watermark and the sink's cursor), 78 when the \
            API refused the key, when every contact asked (at least 5) got 404 and none a 200 \
            (a wrong api.baseURL: none is marked not_found), or the configuration is wrong.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Log level on stderr, instead of the config's logging.level.")
    var logLevel: Logger.Level?

    func run() async throws {
        try await runReportingErrors {
            let (configuration, logger, key) = try options.setUpForAPI(logLevel: logLevel)
            let runtime = try await options.openRuntime(
                .writing, configuration: configuration, addingConfiguredContacts: true)
            let client = runtime.makeClient(apiKey: key)
            let report: SyncPass.Report
            do {
                report = try await runtime.makeSyncPass(client: client, logger: logger).run(logger: logger)
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
            let run = report.run
            logger.info(
                "Sync finished",
                metadata: run.logMetadata.merging(["contacts.not_found": "\(report.notFound.count)"]) { $1 })
            print(
                "synced \(run.contactsPolled) contacts in \(run.requests) requests: \(run.eventsNew) new events, "
                    + "\(run.eventsDuplicate) duplicates, "
                    + (run.eventsConflicting > 0 ? "\(run.eventsConflicting) conflicting, " : "")
                    + "\(run.eventsQuarantined) quarantined, "
                    + "\(report.notFound.count) not found, \(run.contactsFailed) failed")
            for failure in report.failures {
                printError("\(failure.contact): \(failure.error)")
            }
            let sinks = await SinkSupervisor(database: runtime.database, sinks: configuration.sinks, logger: logger)
                .drainOnce()
            for result in sinks.results where result.error == nil {
                logger.info(
                    "Sink caught up",
                    metadata: [
                        "sink.name": "\(result.sink)", "events.delivered": "\(result.delivered)",
                        "events.dead_lettered": "\(result.deadLettered)",
                    ])
            }
            for failure in sinks.failures {
                printError("sink \(failure.sink): \(failure.error ?? "failed")")
            }
            if let status = report.unauthorizedStatus {
                printError(
                    "the API refused the key (HTTP \(status)); check api.keyFile, NP6_API_KEY or the np6-api-key credential"
                )
                throw ExitCode(78)
            }
            if let misconfiguration = report.misconfiguration {
                printError("\(misconfiguration); no contact was marked not_found")
                throw ExitCode(78)
            }
            if sinks.failures.contains(where: \.isConfigurationError) { throw ExitCode(78) }
            if !report.failures.isEmpty || !sinks.failures.isEmpty { throw ExitCode.failure }
        }
    }
}
