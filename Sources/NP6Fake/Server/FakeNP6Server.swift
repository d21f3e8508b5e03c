import Hummingbird
import Logging

/// The fake NP6 API: the stop-events route with NP6's parameters, statuses and headers, plus
/// admin routes under `/_fake/`, served by Hummingbird.
///
/// ```swift
/// let server = FakeNP6Server(configuration: .init(seed: 42))
/// try await server.run(port: 8080) { port in print("listening on \(port)") }
/// ```
public struct FakeNP6Server: Sendable {
    /// The contacts, events, knobs and request log this server serves and records.
    public let state: FakeNP6State
    let logger: Logger

    /// Makes a server and generates its data; nothing is bound until ``run(host:port:onReady:)``.
    public init(configuration: FakeNP6Configuration, logger: Logger = Logger(label: "np6-fake")) {
        self.state = FakeNP6State(configuration: configuration)
        self.logger = logger
    }

    /// Serves until the task is cancelled.
    ///
    /// - Parameters:
    ///   - host: Address to bind; keep the default loopback address for tests.
    ///   - port: Port to bind; `0` picks a free ephemeral port.
    ///   - onReady: Called once listening, with the bound port.
    /// - Throws: If the address cannot be bound.
    public func run(
        host: String = "127.0.0.1",
        port: Int = 0,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let router = Router()
        addStopEventsRoute(to: router)
        addAdminRoutes(to: router)
        // Hummingbird announces itself at info and reports the connections cut by cancellation
        // (how the fake stops) as errors: the fake stays quiet unless debugging. A logger of its
        // own, not a level set on a copy of ours: a handler may share its level with every other
        // (np6-sync's does, for SIGHUP), which would silence the fake's own warnings too.
        let serverLogger =
            logger.logLevel > .debug ? Logger(label: logger.label, factory: { _ in SwiftLogNoOpLogHandler() }) : logger
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port)),
            onServerRunning: { [logger] channel in
                let boundPort = channel.localAddress?.port ?? port
                logger.debug("Fake NP6 API listening", metadata: ["server.port": "\(boundPort)"])
                await onReady(boundPort)
            },
            logger: serverLogger
        )
        try await application.run()
    }
}
