import AsyncHTTPClient
import Config
import Logging
import NIOCore
import NP6Model
import ServiceLifecycle
import SyncStore
import Synchronization

/// Runs one delivery loop per configured sink, each its own failure boundary, until graceful
/// shutdown; a ServiceLifecycle `Service` for the daemon's `ServiceGroup`.
///
/// ```swift
/// let sinks = SinkSupervisor(database: database, sinks: configuration.sinks, logger: logger)
/// let group = ServiceGroup(services: [scheduler, sinks], gracefulShutdownSignals: [.sigterm], logger: logger)
/// // after storing events: sinks.eventsStored()
/// // on SIGHUP: sinks.reload(newConfiguration.sinks)
/// ```
/// The one-shot `np6-sync sync` calls ``drainOnce()`` instead of ``run()``.
public final class SinkSupervisor: Service, Sendable {
    let database: any SinkCursorStore & SinkReplayStore
    let logger: Logger
    let policy: SinkDeliveryPolicy
    let registry: SinkRegistry
    let metrics: (any SinkDeliveryMetrics)?
    let clock: any Clock<Duration>
    /// The time the loops write into the database and measure leases on, in ms since 1970.
    let nowMs: @Sendable () -> Int64

    private struct State {
        var configurations: [SinkConfiguration]
        /// Set while ``run()`` runs: where ``reload(_:)`` sends the new list.
        var reloads: AsyncStream<[SinkConfiguration]>.Continuation?
        var loops: [String: SinkLoopControl] = [:]
        var leasing: InstanceLease?
    }

    private let state: Mutex<State>

    /// - Parameters:
    ///   - sinks: the configuration's `sinks`; names are unique.
    ///   - logger: each sink logs through it with `sink.name` and `sink.type` metadata.
    ///   - policy: polling and backoff timing; tests shorten it.
    ///   - registry: how sinks are built from their configuration.
    ///   - metrics: counts each sink's acknowledged events and failed attempts.
    ///   - clock: what the loops' waits and backoff are measured on; tests pass a manual clock.
    ///   - nowMs: the wall-clock time of the loops' writes and leases; tests pass the manual
    ///     clock's.
    public init(
        database: any SinkCursorStore & SinkReplayStore,
        sinks: [SinkConfiguration],
        logger: Logger,
        policy: SinkDeliveryPolicy = SinkDeliveryPolicy(),
        registry: SinkRegistry = .builtIn,
        metrics: (any SinkDeliveryMetrics)? = nil,
        clock: any Clock<Duration> = ContinuousClock(),
        nowMs: @escaping @Sendable () -> Int64 = WallClock.nowMs
    ) {
        self.database = database
        self.logger = logger
        self.policy = policy
        self.registry = registry
        self.metrics = metrics
        self.clock = clock
        self.nowMs = nowMs
        self.state = Mutex(State(configurations: sinks))
    }

    /// The sinks as last configured.
    public var sinks: [SinkConfiguration] { state.withLock { $0.configurations } }

    /// Several instances on one database (PostgreSQL): each sink is delivered by the one that
    /// holds its lease (see ``InstanceLease``). `nil`, the default, delivers every sink here. Set
    /// it before ``run()``; loops started later use the new value.
    public var leasing: InstanceLease? {
        get { state.withLock { $0.leasing } }
        set { state.withLock { $0.leasing = newValue } }
    }

    /// Delivers until graceful shutdown or cancellation, then returns once every loop has
    /// stopped at a batch boundary: an in-flight batch finishes (or times out) first, and a
    /// cursor never moves past a batch its sink did not acknowledge.
    public func run() async throws {
        let (reloads, continuation) = AsyncStream.makeStream(
            of: [SinkConfiguration].self, bufferingPolicy: .bufferingNewest(1))
        let initial = try state.withLock { state throws(SinkSupervisorError) in
            guard state.reloads == nil else { throw .alreadyRunning }
            state.reloads = continuation
            return state.configurations
        }
        defer {
            state.withLock { state in
                state.reloads = nil
                state.loops = [:]
            }
        }
        try await withHTTPClient { client in
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    self.start(initial, client: client, in: &group)
                    for await sinks in reloads {
                        self.start(sinks, client: client, in: &group)
                    }
                    for control in self.state.withLock({ Array($0.loops.values) }) {
                        control.requestStop()
                    }
                }
            } onGracefulShutdown: {
                continuation.finish()
            }
        }
    }

    /// Applies a new `sinks` list (SIGHUP): added sinks start, removed ones stop, and every other
    /// one restarts at its next batch boundary with its new configuration, re-reading its
    /// secret; a `stopped` sink so resumes. Outside ``run()`` it only replaces the list.
    public func reload(_ sinks: [SinkConfiguration]) {
        let reloads = state.withLock { state in
            state.configurations = sinks
            return state.reloads
        }
        reloads?.yield(sinks)
    }

    /// Wakes the caught-up loops: new events were stored. Cheap; call it after each stored batch.
    public func eventsStored() {
        for control in state.withLock({ Array($0.loops.values) }) {
            control.signal(.events)
        }
    }

    /// Starts a loop per sink, replacing (after it stops) a running loop of the same name, and
    /// stops the loops of sinks no longer listed.
    private func start(_ sinks: [SinkConfiguration], client: HTTPClient, in group: inout DiscardingTaskGroup) {
        let names = Set(sinks.map(\.name))
        let (removed, started) = state.withLock { state in
            let removed = state.loops.filter { !names.contains($0.key) }
            for name in removed.keys { state.loops[name] = nil }
            let started = sinks.map { sink in
                let control = SinkLoopControl(clock: clock)
                defer { state.loops[sink.name] = control }
                return (sink, control, previous: state.loops[sink.name])
            }
            return (removed, started)
        }
        for (name, control) in removed.sorted(by: { $0.key < $1.key }) {
            logger.info("Sink removed from the configuration; stopping", metadata: ["sink.name": "\(name)"])
            control.requestStop()
        }
        for (sink, control, previous) in started {
            previous?.requestStop()
            group.addTask {
                await self.runLoop(sink, control: control, after: previous, client: client)
            }
        }
    }

    private func runLoop(
        _ configuration: SinkConfiguration,
        control: SinkLoopControl,
        after previous: SinkLoopControl?,
        client: HTTPClient
    ) async {
        defer { control.markFinished() }
        // One loop per sink at a time: the one being replaced finishes its batch first.
        await previous?.waitUntilFinished()
        guard !control.isStopRequested else { return }
        let logger = sinkLogger(configuration)
        guard let sink = await makeSink(configuration, client: client, logger: logger) else {
            while !control.isStopRequested && !Task.isCancelled {
                await control.wait(for: .seconds(3600), wakingOn: [])
            }
            return
        }
        var loop = SinkDeliveryLoop(
            configuration: configuration, sink: sink, database: database, policy: policy, control: control,
            logger: logger, metrics: metrics, nowMs: nowMs)
        loop.leasing = leasing
        await loop.run()
    }

    /// The sink, or `nil` after logging and recording (state `stopped`) why it cannot be built.
    func makeSink(_ configuration: SinkConfiguration, client: HTTPClient, logger: Logger) async -> (any EventSink)? {
        do {
            return try registry.makeSink(
                configuration, context: SinkContext(httpClient: client, logger: logger, clock: clock))
        } catch {
            await recordCannotStart(configuration, error: error, logger: logger)
            return nil
        }
    }

    /// Logs why a sink cannot be built and records it `stopped` with that reason, so that
    /// `np6-sync sinks status` shows it.
    ///
    /// With ``leasing``, the state is the lease holder's to write: it is recorded only under a
    /// lease this instance takes for the moment (a free or expired one), then given up, so that a
    /// host that can build the sink delivers it; a sink another instance delivers is left alone.
    func recordCannotStart(_ configuration: SinkConfiguration, error: any Error, logger: Logger) async {
        logger.error("Sink cannot start; fix its configuration and reload", metadata: ["error": "\(error)"])
        let leasing = self.leasing
        do {
            let now = nowMs()
            try await database.createSinkCursor(
                configuration.name, startingAfterLatest: configuration.from == .now, now: now)
            var token: Int64?
            if let leasing {
                token = try await leasing.store.claimSinkLease(
                    configuration.name, for: leasing.instance, nowMs: now, leaseUntilMs: now + leasing.durationMs)
                guard token != nil else {
                    logger.info("Sink delivered by another instance; its state is left to it")
                    return
                }
            }
            try await database.recordSinkFailure(
                configuration.name, state: .stopped, error: "cannot start: \(error)", now: now, fencedBy: token)
            if let leasing { try await leasing.store.releaseSinkLease(configuration.name, of: leasing.instance) }
        } catch {
            logger.error("Sink state could not be recorded", metadata: ["error": "\(error)"])
        }
    }

    func sinkLogger(_ configuration: SinkConfiguration) -> Logger {
        var logger = logger
        logger[metadataKey: "sink.name"] = "\(configuration.name)"
        logger[metadataKey: "sink.type"] = "\(configuration.kind.typeName)"
        return logger
    }

    /// An HTTP client for the webhook sinks, shut down after `body`. Redirects are never
    /// followed: a receiver that moved is a configuration to fix, and following could send
    /// the signed events somewhere unexpected.
    func withHTTPClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .seconds(10)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(client))
        } catch {
            result = .failure(error)
        }
        do {
            try await client.shutdown()
        } catch {
            logger.warning("HTTP client did not shut down cleanly", metadata: ["error": "\(error)"])
        }
        return try result.get()
    }
}
