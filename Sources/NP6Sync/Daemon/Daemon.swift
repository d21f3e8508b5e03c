import Config
import Foundation
import Logging
import NP6Client
import NP6Model
import Prometheus
import ServiceLifecycle
import Sinks
import SyncStore
import UnixSignals

/// `np6-sync run`: the long-running service, built here for both `main` and the tests.
///
/// A `ServiceGroup` of the polling loop, the reload handler and, when `metrics.listen` is set,
/// the metrics endpoint. SIGTERM/SIGINT shut it down gracefully (no new polls, in-flight ones
/// finish or are abandoned, exit within 10 s); SIGHUP reloads the config file's contacts and log
/// level, keeping the running ones when the file is bad. Under systemd it reports READY=1 once
/// the database is open, a STATUS= line, WATCHDOG=1 from the polling loop, and STOPPING=1.
///
/// A database that refuses it once open (locked past the busy timeout, full, I/O error,
/// read-only) never stops it: polls, sinks and the monitor back off and resume by themselves,
/// and `DatabaseHealth` makes the condition visible (log, metric, STATUS=, `sync_runs.error`).
public struct Daemon: Sendable {
    public let runtime: Runtime
    /// What `/metrics` serves; tests read it directly.
    public let metrics: SyncMetrics
    /// Delivers stored events to the configured sinks.
    public let sinks: SinkSupervisor
    let client: NP6Client
    let pacer: RequestPacer
    /// Holds back 404s until a 200 shows `api.baseURL` is right; re-armed when a reload changes it.
    let notFoundGate: NotFoundGate
    let notifier: SystemdNotifier?
    let logger: Logger
    /// The configured contacts, when the database refused to add them at start: added later.
    let contactsToAdd: [ContactReference]
    /// Cluster time (PostgreSQL): the database's clock, as the heartbeats measure it; the
    /// leases of contacts and sinks, the heartbeats and the shared pause are written in it.
    let clusterClock: ClusterClock
    let reload: @Sendable () async -> Void
    /// This process in the database's `instances` (PostgreSQL): a new id at each start.
    public let instance = StoreInstance(
        id: UUID().uuidString.lowercased(), host: ProcessInfo.processInfo.hostName,
        pid: Int64(ProcessInfo.processInfo.processIdentifier), startedMs: WallClock.nowMs())
    public var maximumShutdownDuration: Duration = .seconds(8)
    /// Called with the metrics endpoint's port once it listens (tests use port 0).
    public var onMetricsReady: @Sendable (Int) async -> Void = { _ in }
    /// Called after each poll is accounted for and after each turn of the polling loop (at
    /// least every second): tests wait on it for what the daemon has done, instead of polling.
    public var onProgress: @Sendable () async -> Void = {}

    /// Builds the daemon: opens the database, adds the configured contacts, makes the client.
    ///
    /// - Parameter reloadConfiguration: reads the config file again on SIGHUP; a thrown error
    ///   is logged and the running configuration kept.
    public static func make(
        configuration: SyncConfiguration,
        apiKey: APIKey,
        environment: [String: String],
        logger: Logger,
        logLevel: LogLevelControl? = nil,
        openStore: Runtime.StoreOpener,
        reloadConfiguration: @escaping @Sendable () throws -> SyncConfiguration
    ) async throws -> Daemon {
        // Read before the database is opened, so a bad contacts file leaves no database behind.
        let contacts = try configuration.loadContacts()
        let notifier = SystemdNotifier(environment: environment)
        let runtime = try await openWaitingForTheLock(
            configuration: configuration, openStore: openStore, notifier: notifier, logger: logger)
        let database = runtime.database
        var contactsToAdd: [ContactReference] = []
        if !contacts.isEmpty {
            do {
                _ = try await database.addContacts(contacts, now: WallClock.nowMs())
            } catch {
                // Locked by a long import, say: poll the contacts already stored, add these later.
                logger.error(
                    "The configured contacts could not be added yet; retrying while polling the stored ones",
                    metadata: ["error": "\(error)", "contacts": "\(contacts.count)"])
                contactsToAdd = contacts
            }
        }
        let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
        let clusterClock = ClusterClock(wallNowMs: WallClock.nowMs)
        let sinks = SinkSupervisor(
            database: database, sinks: configuration.sinks, logger: logger, metrics: metrics,
            nowMs: { clusterClock.nowMs() })
        let client = runtime.makeClient(apiKey: apiKey)
        let notFoundGate = NotFoundGate()
        return Daemon(
            runtime: runtime,
            metrics: metrics,
            sinks: sinks,
            client: client,
            pacer: runtime.makePacer(),
            notFoundGate: notFoundGate,
            notifier: notifier,
            logger: logger,
            contactsToAdd: contactsToAdd,
            clusterClock: clusterClock,
            reload: {
                notify(notifier, logger) { try $0.reloading() }
                do {
                    let fresh = try reloadConfiguration()
                    let contacts = try fresh.loadContacts()
                    let added = try await database.addContacts(contacts, now: WallClock.nowMs())
                    if fresh.api.baseURL != client.baseURL {
                        // Contacts marked not_found may have been asked at the wrong address.
                        client.setBaseURL(fresh.api.baseURL)
                        await notFoundGate.rearm()
                        let due = try await database.recheckNotFoundContacts(now: WallClock.nowMs())
                        logger.notice(
                            "api.baseURL changed: not_found contacts are due now",
                            metadata: ["api.base_url": "\(fresh.api.baseURL)", "contacts.rechecked": "\(due)"])
                    }
                    sinks.reload(fresh.sinks)
                    if let level = Logger.Level(rawValue: fresh.logging.level.rawValue) { logLevel?.level = level }
                    logger.info(
                        "Configuration reloaded",
                        metadata: [
                            "contacts.added": "\(added.added)", "contacts.reenabled": "\(added.reenabled)",
                            "sinks": "\(fresh.sinks.count)", "logging.level": "\(fresh.logging.level.rawValue)",
                        ])
                } catch {
                    logger.error(
                        "Configuration reload refused; keeping the running one", metadata: ["error": "\(error)"])
                }
                notify(notifier, logger) { try $0.ready() }
            })
    }

    /// Opens the store; while another connection holds the write lock that opening needs (a
    /// long import started first), waits for it with backoff instead of exiting, saying so in
    /// the log and in STATUS=. A stop signal meanwhile ends the process as usual.
    private static func openWaitingForTheLock(
        configuration: SyncConfiguration, openStore: Runtime.StoreOpener, notifier: SystemdNotifier?, logger: Logger
    ) async throws -> Runtime {
        var delay = Duration.seconds(1)
        var attempts = 0
        while true {
            do {
                return try await Runtime.open(
                    configuration: configuration, addingConfiguredContacts: false, openStore: openStore)
            } catch SyncStoreError.unavailable(let code, let message) where code == .busy {
                attempts += 1
                let metadata: Logger.Metadata = ["db.error.code": "\(code.rawValue)", "error": "\(message)"]
                if attempts == 1 {
                    logger.error("The database is locked by another connection; waiting to open it", metadata: metadata)
                    notify(notifier, logger) { try $0.status("database busy: waiting to open it") }
                } else {
                    logger.warning("The database is still locked; waiting to open it", metadata: metadata)
                }
                try await Task.sleep(for: delay)
                delay = min(.seconds(30), delay * 2)
            }
        }
    }

    /// Runs until SIGTERM/SIGINT (returns) or until the API refuses the key (throws
    /// `DaemonError.unauthorized`). Closes the client either way.
    public func run() async throws {
        var poller = runtime.makePoller(client: client, pacer: pacer)
        poller.onRequest = { [metrics] seconds, status in
            metrics.recordRequest(durationSeconds: seconds, status: status)
        }
        poller.notFoundGate = notFoundGate
        poller.clockSkew = runtime.makeClockSkewGuard(logger: logger) { [metrics] in metrics.setClockSkew(seconds: $0) }
        let notifier = notifier
        let logger = logger
        let health = DatabaseHealth(logger: logger, metrics: metrics, wallNowMs: WallClock.nowMs)
        let monitor = DaemonMonitor(
            database: runtime.database, intervalMs: runtime.schedulePolicy.intervalMs,
            requestsPerSecond: runtime.configuration.api.requestsPerSecond, wallNowMs: WallClock.nowMs,
            logger: logger, metrics: metrics, configuredSinks: { [sinks] in sinks.sinks.map(\.name) },
            health: health, publishStatus: { line in notify(notifier, logger) { try $0.status(line) } })
        var scheduler = PollScheduler(
            database: runtime.database, maxConcurrentPolls: runtime.configuration.api.maxConcurrentRequests,
            wallNowMs: WallClock.nowMs, poll: { [poller] contact in try await poller.fetch(contact, logger: logger) })
        scheduler.health = health
        scheduler.clusterClock = clusterClock
        var leases: ContactLeases?
        if let shared = runtime.database as? any LeaseStore {
            // Several daemons may share the database (PostgreSQL): contacts are claimed by lease.
            let lease = InstanceLease(
                store: shared, instance: instance, durationMs: Int64(runtime.configuration.database.leaseSeconds) * 1000
            )
            scheduler.leasing = lease
            // A poll (or the start-up check) asks the API only while its lease has time left.
            let held = ContactLeases(durationMs: lease.durationMs)
            leases = held
            scheduler.leases = held
            scheduler.poll = { [poller, clusterClock] contact in
                var poller = poller
                poller.mayAsk = { contact in held.mayAsk(contact, nowMs: clusterClock.nowMs()) }
                return try await poller.fetch(contact, logger: logger)
            }
            // And each sink is delivered by the instance holding its lease.
            sinks.leasing = lease
        }
        let pacer = pacer
        if scheduler.leasing != nil {
            // The instances divide the API's limit; a 429 one meets holds all (RELIABILITY.md §12).
            scheduler.imposedPauseUntilMs = { await pacer.imposedPauseUntilMs() }
            scheduler.onHeartbeat = { [metrics] share in
                await pacer.share(share)
                metrics.setLiveInstances(share.liveInstances)
            }
        }
        if let leasing = scheduler.leasing, let leases {
            // Cluster time before anything is leased: the sinks claim theirs as the group starts.
            _ = await scheduler.heartbeat(leasing, leases: leases, cluster: clusterClock, health: health)
        }
        let watchdog = WatchdogTimer(interval: notifier?.watchdogInterval, clock: ContinuousClock())
        let sinks = sinks
        let onProgress = onProgress
        let holdAfterMisconfiguration = Duration.milliseconds(runtime.schedulePolicy.intervalMs)
        scheduler.onPoll = { _, outcome in
            // Every contact asked got 404: ask again after the interval rather than hammer a wrong URL.
            if outcome.misconfiguration != nil { await pacer.hold(for: holdAfterMisconfiguration) }
            if outcome.counts.new > 0 { sinks.eventsStored() }
            await monitor.record(outcome)
            await onProgress()
        }
        scheduler.onTurn = { _ in
            if await watchdog.isDue() { notify(notifier, logger) { try $0.watchdog() } }
            try await monitor.turn(pacerPauses: await pacer.pauses)
            await onProgress()
        }
        // The group shuts its services down last to first: polling stops first, sinks last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: sinks),
            .init(
                service: PollingService(scheduler: scheduler, notifier: notifier, logger: logger),
                successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: ReloadService(reload: reload, logger: logger)),
        ]
        if runtime.configuration.sync.checkApiOnStart {
            var check = APICheckService(
                checker: APIChecker(client: client, pacer: pacer), database: runtime.database, logger: logger,
                clusterClock: clusterClock)
            check.leasing = scheduler.leasing
            check.leases = leases
            services.append(
                .init(service: check, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        if !contactsToAdd.isEmpty {
            services.append(
                .init(
                    service: ContactsAddingService(database: runtime.database, contacts: contactsToAdd, logger: logger),
                    successTerminationBehavior: .ignore))
        }
        if let listen = runtime.configuration.metrics {
            services.append(
                .init(
                    service: MetricsServer(
                        configuration: listen, registry: metrics.registry, logger: logger, onReady: onMetricsReady)))
        }
        var group = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = maximumShutdownDuration
        logger.info(
            "np6-sync started",
            metadata: [
                "database.path": "\(runtime.database.location)", "api.base_url": "\(runtime.configuration.api.baseURL)",
                "version": "\(ProductVersion.current)", "instance.id": "\(instance.id)",
            ])
        notify(notifier, logger) { try $0.ready() }
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

/// Sends an sd_notify message when running under systemd; a failure is logged, never fatal.
func notify(_ notifier: SystemdNotifier?, _ logger: Logger, _ send: (SystemdNotifier) throws -> Void) {
    guard let notifier else { return }
    do {
        try send(notifier)
    } catch {
        logger.warning("Could not notify systemd", metadata: ["error": "\(error)"])
    }
}
