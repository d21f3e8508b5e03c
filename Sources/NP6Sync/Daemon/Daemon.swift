import Foundation
import Logging
import NP6Client
import ServiceLifecycle
import SyncStore
import UnixSignals

/// `np6-sync run`: the long-running service, built here for both `main` and the tests.
///
/// A `ServiceGroup` of the polling loop and the reload handler; SIGTERM/SIGINT shut it down
/// gracefully (no new polls, in-flight ones finish or are abandoned, exit within 10 s), SIGHUP
/// reloads the config file's contacts and log level, keeping the old ones when the file is bad.
public struct Daemon: Sendable {
    public let runtime: Runtime
    let client: NP6Client
    let pacer: RequestPacer
    let logger: Logger
    let reload: @Sendable () async -> Void
    public var maximumShutdownDuration: Duration = .seconds(8)

    /// Builds the daemon: opens the database, adds the configured contacts, makes the client.
    ///
    /// - Parameter reloadConfiguration: reads the config file again on SIGHUP; a thrown error
    ///   is logged and the running configuration kept.
    public static func make(
        configuration: SyncConfiguration,
        apiKey: APIKey,
        logger: Logger,
        logLevel: LogLevelControl? = nil,
        reloadConfiguration: @escaping @Sendable () throws -> SyncConfiguration
    ) async throws -> Daemon {
        let runtime = try await Runtime.open(configuration: configuration, addingConfiguredContacts: true)
        let database = runtime.database
        return Daemon(
            runtime: runtime,
            client: runtime.makeClient(apiKey: apiKey),
            pacer: RequestPacer(requestsPerSecond: configuration.api.requestsPerSecond, wallNowMs: WallClock.nowMs),
            logger: logger,
            reload: {
                do {
                    let fresh = try reloadConfiguration()
                    let contacts = try fresh.loadContacts()
                    let added = try await database.addContacts(contacts, now: WallClock.nowMs())
                    if let level = Logger.Level(rawValue: fresh.logging.level.rawValue) { logLevel?.level = level }
                    logger.info(
                        "Configuration reloaded",
                        metadata: [
                            "contacts.added": "\(added.added)", "contacts.reenabled": "\(added.reenabled)",
                            "logging.level": "\(fresh.logging.level.rawValue)",
                        ])
                } catch {
                    logger.error("Configuration reload refused; keeping the running one", metadata: ["error": "\(error)"])
                }
            })
    }

    /// Runs until SIGTERM/SIGINT (returns) or until the API refuses the key (throws
    /// `DaemonError.unauthorized`). Closes the client either way.
    public func run() async throws {
        let poller = ContactPoller(
            client: client, database: runtime.database, windows: runtime.windowPolicy,
            schedule: runtime.schedulePolicy, pacer: pacer, wallNowMs: WallClock.nowMs)
        let monitor = DaemonMonitor(
            database: runtime.database, intervalMs: runtime.schedulePolicy.intervalMs,
            requestsPerSecond: runtime.configuration.api.requestsPerSecond, wallNowMs: WallClock.nowMs,
            logger: logger, publishStatus: { _ in })
        var scheduler = PollScheduler(
            database: runtime.database, maxConcurrentPolls: runtime.configuration.api.maxConcurrentRequests,
            wallNowMs: WallClock.nowMs, poll: { [logger] contact in try await poller.poll(contact, logger: logger) })
        let pacer = pacer
        scheduler.onPoll = { _, outcome in await monitor.record(outcome) }
        scheduler.onTurn = { _ in try await monitor.turn(pacerPauses: await pacer.pauses) }
        let polling = PollingService(scheduler: scheduler, logger: logger)
        let reloading = ReloadService(reload: reload, logger: logger)
        var group = ServiceGroupConfiguration(
            services: [
                .init(service: polling, successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: reloading),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = maximumShutdownDuration
        logger.info(
            "np6-sync started",
            metadata: [
                "database.path": "\(runtime.database.path)", "api.base_url": "\(runtime.configuration.api.baseURL)",
                "version": "\(NP6Client.version)",
            ])
        do {
            try await ServiceGroup(configuration: group).run()
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
        logger.info("np6-sync stopped")
    }
}

/// The polling loop as a service of the group.
struct PollingService: Service {
    let scheduler: PollScheduler
    let logger: Logger

    func run() async throws {
        try await scheduler.run(logger: logger)
    }
}

/// Reloads the configuration on each SIGHUP until graceful shutdown.
struct ReloadService: Service {
    let reload: @Sendable () async -> Void
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.info("SIGHUP: reloading the configuration")
            await reload()
        }
    }
}
