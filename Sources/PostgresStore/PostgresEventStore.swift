import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import SyncStore

/// The PostgreSQL store: the same public schema as the SQLite one (`docs/DATABASE.md`), for
/// companies that want the stop events in the PostgreSQL their CRM and BI already read.
///
/// A `PostgresClient` (PostgresNIO's connection pool) serves every method; migrations run on
/// open, over one connection of their own so that a refused password or an unreachable server is
/// reported at once and by name. Each write method keeps one invariant in one transaction, as
/// the SQLite store does; the pollers' writes are group-committed through `PollWriteQueue`, a
/// transaction's events inserted by one statement.
public final class PostgresEventStore: EventStore, LeaseStore {
    /// Where the server is and how to reach it: what `database.url` and the password give.
    public struct Endpoint: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var username: String
        public var database: String
        public var tls: TLSMode
        /// CA certificates (PEM) to verify the server's certificate with, instead of the system's.
        public var rootCertificatePath: String?

        public init(
            host: String, port: Int = 5432, username: String, database: String, tls: TLSMode,
            rootCertificatePath: String? = nil
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.database = database
            self.tls = tls
            self.rootCertificatePath = rootCertificatePath
        }

        /// `postgresql://USER@HOST:PORT/DB`: what messages and `status` show; never a password.
        public var location: String {
            let host = self.host.contains(":") ? "[\(self.host)]" : self.host
            return "postgresql://\(username)@\(host):\(port)/\(database)"
        }
    }

    /// Whether TLS is used, and how the server's certificate is checked. Whenever TLS is used
    /// the certificate chain is verified against the trusted roots.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS (`sslmode=disable`).
        case disable
        /// TLS when the server offers it, plain text otherwise; a TLS certificate is verified,
        /// host name included (`sslmode=prefer`, the default).
        case prefer
        /// TLS or no connection, the certificate verified with its host name (`require`,
        /// `verify-full`).
        case verifyFull = "verify-full"
        /// TLS or no connection, the certificate chain verified but not its host name (`verify-ca`).
        case verifyCA = "verify-ca"
    }

    public let endpoint: Endpoint
    public var location: String { endpoint.location }
    let client: PostgresClient
    let logger: Logger
    private let runTask: Task<Void, Never>
    let writeQueue: PollWriteQueue

    private init(endpoint: Endpoint, client: PostgresClient, logger: Logger) {
        self.endpoint = endpoint
        self.client = client
        self.logger = logger
        self.runTask = Task { await client.run() }
        self.writeQueue = PollWriteQueue(committer: PostgresPollWriteCommitter(client: client, logger: logger))
    }

    /// Connects, brings the schema up to date, and opens the connection pool.
    ///
    /// - Parameters:
    ///   - password: the role's password; `nil` when the server asks for none. It goes to the
    ///     server's authentication and nowhere else.
    ///   - maximumConnections: the pool's size: the poll writes use one at a time, the sink
    ///     loops and the scheduler the others.
    ///   - limits: the timeouts and keepalives of every pooled session (``SessionLimits``).
    /// - Throws: `SyncStoreError.unavailable(code: .unreachable, …)` when the server cannot be
    ///   reached (refused, timed out, starting up or shutting down: worth trying again);
    ///   `SyncStoreError.cannotOpen` when it refuses us (password, role, database, TLS);
    ///   `SyncStoreError.newerSchema` for a database migrated by a newer np6-sync (left untouched).
    public static func open(
        _ endpoint: Endpoint, password: String?, maximumConnections: Int = 8,
        limits: SessionLimits = SessionLimits(leaseSeconds: 30, boundsStatements: false)
    ) async throws(SyncStoreError) -> PostgresEventStore {
        let logger = Self.driverLogger
        let tls: TLSConfiguration?
        do {
            tls = try tlsConfiguration(endpoint)
        } catch {
            throw .cannotOpen(path: endpoint.location, reason: "TLS: \(error)")
        }
        do {
            let connection = try await PostgresConnection.connect(
                configuration: connectionConfiguration(endpoint, password: password, tls: tls), id: 0, logger: logger)
            do {
                try await PostgresSchema.migrate(connection, location: endpoint.location, logger: logger)
                try? await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch let error as SyncStoreError {
            throw error
        } catch {
            throw openingError(error, location: endpoint.location)
        }
        var configuration = PostgresClient.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.username, password: password,
            database: endpoint.database, tls: clientTLS(endpoint.tls, tls))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = limits.startupParameters
        return PostgresEventStore(
            endpoint: endpoint, client: PostgresClient(configuration: configuration, backgroundLogger: logger),
            logger: logger)
    }

    /// What ``check(_:password:)`` found.
    public struct ConnectionCheck: Sendable, Hashable {
        /// `SHOW server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
        public var serverVersion: String
        /// The applied schema version; `nil` when np6-sync has not created its schema there yet.
        public var schemaVersion: Int?
        /// Whether the connection uses TLS (`pg_stat_ssl`).
        public var tls: Bool
    }

    /// Connects and authenticates as ``open(_:password:maximumConnections:limits:)`` does, reads the
    /// server's version and the schema version, and disconnects, changing nothing (`check-config`).
    /// - Throws: as `open` does, `newerSchema` included.
    public static func check(_ endpoint: Endpoint, password: String?) async throws(SyncStoreError) -> ConnectionCheck {
        let logger = Self.driverLogger
        do {
            let connection = try await PostgresConnection.connect(
                configuration: connectionConfiguration(endpoint, password: password, tls: tlsConfiguration(endpoint)),
                id: 0, logger: logger)
            defer { Task { try? await connection.close() } }
            let version =
                try await connection.query("SHOW server_version", logger: logger).collect().first?.decode(String.self)
                ?? "?"
            let tls =
                try await connection.query(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: logger
                ).collect().first?.decode(Bool.self) ?? false
            let schema = try await PostgresSchema.appliedVersion(connection, logger: logger)
            if let schema, schema > PostgresSchema.knownVersion {
                throw SyncStoreError.newerSchema(
                    path: endpoint.location, found: schema, known: PostgresSchema.knownVersion)
            }
            return ConnectionCheck(serverVersion: version, schemaVersion: schema, tls: tls)
        } catch let error as SyncStoreError {
            throw error
        } catch {
            throw openingError(error, location: endpoint.location)
        }
    }

    /// What PostgresNIO logs to: nothing. Every failure reaches the engine as a thrown error,
    /// which it logs with its own context; and setting a level on a logger of the process's
    /// handler would set the level of every log line of the process.
    static let driverLogger = Logger(label: "np6-sync.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Closes the pool once the queued writes are committed; the store cannot be used after.
    public func close() async {
        await flushWrites()
        runTask.cancel()
        await runTask.value
    }

    deinit { runTask.cancel() }

    /// The number of migrations applied (the highest `schema_migrations.version`).
    public func schemaVersion() async throws -> Int {
        try await reading { connection in
            try await PostgresSchema.appliedVersion(connection, logger: self.logger) ?? 0
        }
    }

    /// The UUID made with the schema (`meta.database_id`).
    public func databaseID() async throws -> String {
        let id = try await reading { connection in
            try await connection.query("SELECT value FROM meta WHERE key = 'database_id'", logger: self.logger)
                .collect().first?.decode(String.self)
        }
        guard let id else { throw SyncStoreError.cannotOpen(path: location, reason: "meta.database_id is missing") }
        return id
    }

    // MARK: Connections

    private static func connectionConfiguration(
        _ endpoint: Endpoint, password: String?, tls: TLSConfiguration?
    ) throws -> PostgresConnection.Configuration {
        let connectionTLS: PostgresConnection.Configuration.TLS =
            switch (endpoint.tls, tls) {
            case (.disable, _), (_, nil): .disable
            case (.prefer, let tls?): .prefer(try NIOSSLContext(configuration: tls))
            case (.verifyFull, let tls?), (.verifyCA, let tls?): .require(try NIOSSLContext(configuration: tls))
            }
        var configuration = PostgresConnection.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.username, password: password,
            database: endpoint.database, tls: connectionTLS)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    private static func clientTLS(_ mode: TLSMode, _ tls: TLSConfiguration?) -> PostgresClient.Configuration.TLS {
        switch (mode, tls) {
        case (.disable, _), (_, nil): .disable
        case (.prefer, let tls?): .prefer(tls)
        case (.verifyFull, let tls?), (.verifyCA, let tls?): .require(tls)
        }
    }

    /// The client TLS configuration: the certificate always verified, its host name too except
    /// for `verify-ca` (a host given as an IP address is checked against the certificate's IP
    /// addresses; PostgresNIO sends no SNI for it).
    private static func tlsConfiguration(_ endpoint: Endpoint) throws -> TLSConfiguration? {
        guard endpoint.tls != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = endpoint.tls == .verifyCA ? .noHostnameVerification : .fullVerification
        if let path = endpoint.rootCertificatePath {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
        }
        return tls
    }

    // MARK: Transactions

    /// Runs `body` on a pooled connection; PostgreSQL's refusals come out as `SyncStoreError.unavailable`.
    func reading<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Runs `body` in a transaction on a pooled connection, committed when it returns and rolled
    /// back when it throws; PostgreSQL's refusals come out as `SyncStoreError.unavailable`.
    func writing<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in
                try await Self.transaction(connection, logger: logger, body)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// `BEGIN`, `body`, `COMMIT`; `ROLLBACK` when `body` throws, whose error passes unchanged.
    static func transaction<T: Sendable>(
        _ connection: PostgresConnection, logger: Logger, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await connection.run("BEGIN", logger: logger)
        let value: T
        do {
            value = try await body(connection)
        } catch {
            if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw error
        }
        try await connection.run("COMMIT", logger: logger)
        return value
    }
}

extension PostgresConnection {
    /// Runs a statement, reading (and dropping) whatever rows it returns.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        try ensureOpen()
        for try await _ in try await self.query(query, logger: logger) {}
    }

    /// Runs a statement and returns how many rows it returned (for `… RETURNING 1`, how many it changed).
    @discardableResult
    func count(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        try ensureOpen()
        var count = 0
        for try await _ in try await self.query(query, logger: logger) { count += 1 }
        return count
    }

    /// Throws `unreachable` when the connection is closed. A statement sent on a closed
    /// connection is never answered (PostgresNIO drops the write), and this happens to a daemon
    /// that wakes up from a freeze in the middle of a transaction the server ended meanwhile
    /// (`idle_in_transaction_session_timeout`, `SessionLimits`): without the check its commit
    /// would wait forever.
    func ensureOpen() throws {
        guard isClosed else { return }
        throw SyncStoreError.unavailable(
            code: .unreachable,
            message: "PostgreSQL: the server ended the session (a transaction left idle past "
                + "idle_in_transaction_session_timeout, or a lost connection)")
    }
}
