import Config
import Logging
import NP6Client
import NP6Model
import SyncStore

/// What the commands build from a configuration: the database, and the API client and sync
/// pass for the commands that call the API. `main` and the tests both build through here.
public struct Runtime: Sendable {
    /// Opens the store a configuration names. The engine knows stores only as `EventStore`; the
    /// CLI (and the tests) say which implementation serves which configuration.
    public typealias StoreOpener = @Sendable (DatabaseConfiguration) async throws -> any EventStore

    public let configuration: SyncConfiguration
    public let database: any EventStore

    public init(configuration: SyncConfiguration, database: any EventStore) {
        self.configuration = configuration
        self.database = database
    }

    /// Opens the configured database.
    ///
    /// - Parameters:
    ///   - addingConfiguredContacts: adds the config's contacts (inline and `contactsFile`) to the
    ///     database, for the commands that poll or manage contacts. They are read before the
    ///     database is opened, so a bad contacts file leaves no database behind.
    ///   - openStore: opens the store `configuration.database` names.
    public static func open(
        configuration: SyncConfiguration,
        addingConfiguredContacts: Bool,
        openStore: StoreOpener
    ) async throws -> Runtime {
        let contacts = addingConfiguredContacts ? try configuration.loadContacts() : []
        let database = try await openStore(configuration.database)
        if !contacts.isEmpty {
            _ = try await database.addContacts(contacts, now: WallClock.nowMs())
        }
        return Runtime(configuration: configuration, database: database)
    }

    /// An API client with the configured base URL, timeout and connection limit. Shut it down when done.
    public func makeClient(apiKey: APIKey) -> NP6Client {
        Self.makeClient(configuration.api, apiKey: apiKey)
    }

    /// A client of the API that `api` configures (for commands that need no database).
    public static func makeClient(_ api: APIConfiguration, apiKey: APIKey) -> NP6Client {
        NP6Client(
            configuration: NP6ClientConfiguration(
                baseURL: api.baseURL, apiKey: apiKey.unredactedValue, timeoutSeconds: api.timeoutSeconds,
                maxConnections: api.maxConcurrentRequests),
            now: WallClock.nowMs)
    }

    /// The windows and schedule of the configuration, in the milliseconds the engine counts in.
    public var windowPolicy: WindowPolicy {
        WindowPolicy(
            initialStartMs: configuration.sync.initialStartMs,
            lookbackMs: Int64(configuration.sync.lookbackSeconds) * 1000,
            maxWindowMs: Int64(configuration.sync.maxWindowSeconds) * 1000)
    }

    public var schedulePolicy: SchedulePolicy {
        SchedulePolicy(
            intervalMs: Int64(configuration.schedule.intervalSeconds) * 1000,
            jitterMs: Int64(configuration.schedule.jitterSeconds) * 1000,
            notFoundRecheckMs: Int64(configuration.schedule.notFoundRecheckSeconds) * 1000)
    }

    /// The poller of the configured windows and schedule, paced by `pacer` (one per process).
    public func makePoller(client: any StopEventsAPI, pacer: RequestPacer) -> ContactPoller {
        ContactPoller(
            client: client, database: database, windows: windowPolicy, schedule: schedulePolicy, pacer: pacer,
            wallNowMs: WallClock.nowMs)
    }

    /// A pacer for `api.requestsPerSecond`.
    public func makePacer() -> RequestPacer {
        RequestPacer(requestsPerSecond: configuration.api.requestsPerSecond, wallNowMs: WallClock.nowMs)
    }

    /// One pass over every enabled contact, paced by `api.requestsPerSecond`, its watermarks
    /// kept within the API's clock.
    public func makeSyncPass(client: any StopEventsAPI, logger: Logger) -> SyncPass {
        var poller = makePoller(client: client, pacer: makePacer())
        poller.clockSkew = makeClockSkewGuard(logger: logger)
        return SyncPass(
            poller: poller, maxConcurrentRequests: configuration.api.maxConcurrentRequests,
            maxAttempts: configuration.api.maxAttempts)
    }

    /// Compares the API's clock with the local one (see ``ClockSkewGuard``).
    public func makeClockSkewGuard(
        logger: Logger, onSkew: @escaping @Sendable (_ seconds: Double) -> Void = { _ in }
    ) -> ClockSkewGuard {
        ClockSkewGuard(
            database: database, schedule: schedulePolicy, logger: logger, onSkew: onSkew)
    }
}
