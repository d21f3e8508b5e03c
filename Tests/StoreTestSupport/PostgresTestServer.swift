import Foundation
import Logging
import PostgresNIO
import PostgresStore

/// The PostgreSQL server the tests use: `NP6_TEST_POSTGRES_URL`
/// (`postgresql://USER@HOST:PORT/DB?sslmode=disable`, a role that may create databases) and its
/// password in the file `NP6_TEST_POSTGRES_PASSWORD_FILE` or in `NP6_TEST_POSTGRES_PASSWORD`.
/// `scripts/test-postgres start` starts one and `scripts/test-postgres env` prints the variables.
///
/// Each test gets a database of its own, created for it and dropped after it.
public struct PostgresTestServer: Sendable {
    public static let urlVariable = "NP6_TEST_POSTGRES_URL"

    /// The server's endpoint, its database the one to connect to for `CREATE DATABASE`.
    public var endpoint: PostgresEventStore.Endpoint
    public var url: String
    public var password: String?

    /// Whether the PostgreSQL tests run: the URL is set, or `CI=true` (where they must run, and
    /// fail with ``configured()`` when the URL is missing, so that CI never skips them silently).
    public static var isEnabled: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment[urlVariable] != nil || environment["CI"] == "true"
    }

    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String
    }

    /// The server the environment names; throws when it names none or cannot be read.
    public static func configured() throws -> PostgresTestServer {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment[urlVariable] else {
            throw NotConfigured(
                description: "\(urlVariable) is not set: the PostgreSQL tests need a server "
                    + "(scripts/test-postgres start; eval \"$(scripts/test-postgres env)\")")
        }
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user
        else {
            throw NotConfigured(description: "\(urlVariable) is not a postgresql:// URL")
        }
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        var password = environment["NP6_TEST_POSTGRES_PASSWORD"]
        if let file = environment["NP6_TEST_POSTGRES_PASSWORD_FILE"] {
            password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let database = String(components.path.drop { $0 == "/" })
        return PostgresTestServer(
            endpoint: PostgresEventStore.Endpoint(
                host: host, port: components.port ?? 5432, username: user,
                database: database.isEmpty ? "postgres" : database,
                tls: sslmode == "disable" ? .disable : .prefer),
            url: url, password: password)
    }

    /// `body` with the endpoint of a new, empty database, dropped after it.
    public func withTemporaryDatabase<T>(_ body: (PostgresEventStore.Endpoint) async throws -> T) async throws -> T {
        let name = "np6_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await administer("CREATE DATABASE \(name)")
        do {
            var endpoint = endpoint
            endpoint.database = name
            let result = try await body(endpoint)
            try await drop(name)
            return result
        } catch {
            try? await drop(name)
            throw error
        }
    }

    /// Drops a test's database, ending its sessions; retried a few times, as a session (an
    /// autovacuum worker, which needs `pg_signal_backend`, granted by `scripts/test-postgres`)
    /// may outlive the 5 s `WITH (FORCE)` waits for it. Between two attempts the server waits
    /// for those sessions to end (`pg_terminate_backend` with a timeout): a bounded wait on the
    /// condition the drop needs, not a fixed pause.
    private func drop(_ name: String) async throws {
        for attempt in 1... {
            do {
                return try await administer("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            } catch  where attempt < 10 {
                try? await administer(
                    """
                    SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
                    WHERE datname = '\(name)' AND pid <> pg_backend_pid()
                    """)
            }
        }
    }

    /// `body` with a new store on a new database, closed and dropped after it.
    public func withTemporaryStore<T>(_ body: (PostgresEventStore) async throws -> T) async throws -> T {
        try await withTemporaryDatabase { endpoint in
            let store = try await PostgresEventStore.open(endpoint, password: password)
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
    }

    /// `body` with a connection of its own to `database`, closed after it.
    public func withConnection<T>(
        to database: String, _ body: (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        let logger = Logger(label: "np6-sync-tests.postgres")
        let connection = try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: endpoint.host, port: endpoint.port, username: endpoint.username, password: password,
                database: database, tls: .disable),
            id: 3, logger: logger)
        do {
            let result = try await body(connection, logger)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs `body` while another session, as an operator's or another daemon's, holds a
    /// transaction on `database` that ran `sql` (e.g. `SELECT … FOR UPDATE`); rolled back after.
    public func whileATransactionHolds<T>(
        _ sql: String, on database: String, _ body: () async throws -> T
    ) async throws -> T {
        try await withConnection(to: database) { connection, logger in
            try await connection.query("BEGIN", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            let result = try await body()
            try await connection.query("ROLLBACK", logger: logger)
            return result
        }
    }

    /// A session on `database`, set up with `startupParameters` as a daemon's are
    /// (`SessionLimits.startupParameters`), that opened a transaction, ran `sql` in it (e.g. took
    /// the advisory lock of the event inserts) and now sends nothing: a daemon stopped with
    /// SIGSTOP, or whose VM was paused, in the middle of a commit.
    public func silentSession(
        running sql: String, on database: String, startupParameters: [(String, String)] = []
    ) async throws -> SilentSession {
        var configuration = PostgresConnection.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.username, password: password,
            database: database, tls: .disable)
        configuration.options.additionalStartupParameters = startupParameters
        let logger = Logger(label: "np6-sync-tests.postgres")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 3, logger: logger)
        do {
            try await connection.query("BEGIN", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        return SilentSession(connection: connection, logger: logger)
    }

    /// See ``silentSession(running:on:startupParameters:)``.
    public final class SilentSession: Sendable {
        let connection: PostgresConnection
        let logger: Logger

        init(connection: PostgresConnection, logger: Logger) {
            self.connection = connection
            self.logger = logger
        }

        /// The frozen process resumes: it commits what it did. Throws when the server has ended
        /// its session meanwhile (its transaction rolled back).
        public func wake() async throws {
            // A statement on a closed connection is never answered: check first.
            guard !connection.isClosed else { throw SessionEnded() }
            try await connection.query("COMMIT", logger: logger)
        }

        /// The server ended the session while it was silent.
        public struct SessionEnded: Error {}

        public func close() async {
            try? await connection.close()
        }
    }

    /// Runs one statement on the server's own database (not in a transaction: `CREATE DATABASE`).
    public func administer(_ sql: String) async throws {
        try await withConnection(to: endpoint.database) { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }
}
