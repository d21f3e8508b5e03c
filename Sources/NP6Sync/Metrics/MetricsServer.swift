import Config
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// Serves `GET /metrics` in the Prometheus text format, as a service of the daemon's `ServiceGroup`.
///
/// It binds when the group starts it and stops accepting connections when the group shuts down
/// gracefully. Keep it on loopback (`metrics.listen` = `127.0.0.1:9464`): the endpoint has no
/// authentication, and a scraper on another host reaches it through a proxy or a tunnel.
///
/// ```swift
/// let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
/// let server = MetricsServer(address: .init(host: "127.0.0.1", port: 9464), registry: metrics.registry, logger: logger)
/// let group = ServiceGroup(services: [server, daemon], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public struct MetricsServer: Service {
    /// Where to listen.
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        /// The address to bind, without brackets: `127.0.0.1`, `::1`, `localhost`.
        public var host: String
        /// The port; 0 picks a free one (tests), reported to `onReady`.
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `127.0.0.1:9464` or `[::1]:9464`.
        public var description: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    /// The media type of the Prometheus text format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public let address: Address
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let onReady: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - address: Where to listen.
    ///   - registry: What to serve, usually ``SyncMetrics/registry``.
    ///   - logger: Logs the bound address at info; the HTTP server's own records only at debug.
    ///   - onReady: Called once listening, with the bound port (useful with port 0).
    public init(
        address: Address,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.address = address
        self.registry = registry
        self.logger = logger
        self.onReady = onReady
    }

    /// A server for the `metrics` section of the config file.
    public init(
        configuration: MetricsConfiguration,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.init(
            address: Address(host: configuration.host, port: configuration.port),
            registry: registry, logger: logger, onReady: onReady)
    }

    /// Serves until graceful shutdown or cancellation.
    ///
    /// - Throws: When the address cannot be bound (in use, not local, not permitted).
    public func run() async throws {
        let router = Router()
        router.get("metrics") { [registry] _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: Self.contentType, .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        // Hummingbird announces itself at info and reports cut connections as errors; one line of
        // ours says what an operator needs.
        var serverLogger = logger
        if serverLogger.logLevel > .debug {
            serverLogger.logLevel = .critical
        }
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port)),
            onServerRunning: { [logger, address, onReady] channel in
                let port = channel.localAddress?.port ?? address.port
                logger.info(
                    "Metrics endpoint listening",
                    metadata: ["metrics.listen": "\(Address(host: address.host, port: port))", "http.path": "/metrics"])
                await onReady(port)
            },
            logger: serverLogger
        )
        try await application.run()
    }
}
