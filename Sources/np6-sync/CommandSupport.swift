import ArgumentParser
import Config
import Foundation
import Logging
import NP6Model
import NP6Sync
import PostgresStore
import SQLiteStore
import SyncStore

/// Where the configuration and the database are, for every command that uses them.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The config file (default: $NP6_SYNC_CONFIG, else /etc/np6-sync/config.json).")
    var config: String?

    @Option(help: "The database instead of the config's: a SQLite file, or a postgresql:// URL (no password).")
    var database: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The configuration; the built-in defaults when no file was named and the default one does not exist.
    func loadConfiguration() throws(ConfigurationError) -> SyncConfiguration {
        let path = SyncConfiguration.path(option: config, environment: environment)
        var configuration: SyncConfiguration
        if config == nil, environment[SyncConfiguration.pathEnvironmentVariable] == nil,
            !FileManager.default.fileExists(atPath: path)
        {
            configuration = try SyncConfiguration.parse("{}", environment: environment)
        } else {
            configuration = try SyncConfiguration.load(path: path, environment: environment)
        }
        if let database {
            if PostgresURL.looksLikeURL(database) {
                configuration.database.url = try PostgresURL.parse(database, issuePath: "--database")
            } else {
                configuration.database.path = database
                configuration.database.url = nil
            }
        }
        return configuration
    }
}

extension GlobalOptions {
    /// How a command uses the database.
    enum Access {
        /// Changes it: opened (and migrated) for writing.
        case writing
        /// Only reads it (`status`, `events`, `sinks status`): works while another process
        /// holds the write lock.
        case reading
    }

    /// The preamble of a command that works on the database: loads the configuration, opens the
    /// database it names, runs `body`, and turns what is thrown into the contract's exit code.
    func withRuntime(
        _ access: Access, addingConfiguredContacts: Bool = false, _ body: (Runtime) async throws -> Void
    ) async throws {
        try await runReportingErrors {
            try await body(
                openRuntime(
                    access, configuration: loadConfiguration(), addingConfiguredContacts: addingConfiguredContacts))
        }
    }

    /// The database `configuration` names, opened as `access` asks.
    func openRuntime(
        _ access: Access, configuration: SyncConfiguration, addingConfiguredContacts: Bool = false
    ) async throws -> Runtime {
        try await Runtime.open(
            configuration: configuration, addingConfiguredContacts: addingConfiguredContacts,
            openStore: access == .reading ? openStoreForReading : openStore)
    }

    /// The preamble of a command that talks to the API (`run`, `sync`): the configuration, the
    /// logging it asks for (or `logLevel`), the files it names when `checkingFiles` (every
    /// problem reported at once), and the API key.
    func setUpForAPI(
        logLevel: Logger.Level?, checkingFiles: Bool = false
    ) throws -> (configuration: SyncConfiguration, logger: Logger, key: Secret) {
        let configuration = try loadConfiguration()
        let logger = bootstrapLogging(configuration, override: logLevel)
        if checkingFiles { try configuration.checkReferencedFiles(environment: environment) }
        return (configuration, logger, try configuration.api.resolveKey(environment: environment))
    }
}

/// The store a configuration names: the PostgreSQL database at `database.url`, else the SQLite
/// file at `database.path`.
@Sendable func openStore(_ configuration: DatabaseConfiguration) async throws -> any EventStore {
    if let url = configuration.url { return try await openPostgres(url, configuration) }
    return try SQLiteEventStore.open(path: configuration.path)
}

/// The store of `np6-sync run`: on PostgreSQL, no statement runs longer than half a lease
/// (`SessionLimits`); the commands' statements (an `events` export to a slow reader) may.
@Sendable func openStoreForDaemon(_ configuration: DatabaseConfiguration) async throws -> any EventStore {
    if let url = configuration.url { return try await openPostgres(url, configuration, boundsStatements: true) }
    return try SQLiteEventStore.open(path: configuration.path)
}

/// The store a configuration names, for commands that only read it (`status`, `events`,
/// `sinks status`): they work while another process holds the write lock. (PostgreSQL readers
/// never wait for writers; the store is the same.)
@Sendable func openStoreForReading(_ configuration: DatabaseConfiguration) async throws -> any EventStore {
    if let url = configuration.url { return try await openPostgres(url, configuration) }
    return try SQLiteEventStore.openForReading(path: configuration.path)
}

/// Connects to the PostgreSQL database with the password from `database.passwordFile`,
/// `NP6_DATABASE_PASSWORD` or the systemd credential (`nil` when none is set).
/// Every session waits for a lock, or holds a transaction idle, at most a third of
/// `database.leaseSeconds` (`SessionLimits`).
func openPostgres(
    _ url: PostgresURL, _ configuration: DatabaseConfiguration, boundsStatements: Bool = false
) async throws -> PostgresEventStore {
    let password = try configuration.resolvePassword(environment: ProcessInfo.processInfo.environment)
    return try await PostgresEventStore.open(
        url.endpoint, password: password?.unredactedValue,
        limits: SessionLimits(leaseSeconds: configuration.leaseSeconds, boundsStatements: boundsStatements))
}

extension PostgresURL {
    /// What the store connects to; `require` verifies like `verify-full` (see `SSLMode`).
    var endpoint: PostgresEventStore.Endpoint {
        let tls: PostgresEventStore.TLSMode =
            switch sslMode {
            case .disable: .disable
            case .prefer: .prefer
            case .require, .verifyFull: .verifyFull
            case .verifyCA: .verifyCA
            }
        return PostgresEventStore.Endpoint(
            host: host, port: port, username: user, database: database, tls: tls,
            rootCertificatePath: rootCertificatePath)
    }
}

/// Sends the logs where the configuration says, at `override` or the configured level.
func bootstrapLogging(_ configuration: SyncConfiguration, override: Logger.Level?) -> Logger {
    bootstrapLogging(
        level: override ?? Logger.Level(rawValue: configuration.logging.level.rawValue) ?? .info,
        format: LineLogHandler.Format(rawValue: configuration.logging.format.rawValue) ?? .logfmt)
}

/// The level of every log line of the process; `run` changes it on SIGHUP.
let processLogLevel = LogLevelControl(.info)

/// Sends swift-log to stderr, one line per record, or to the journal when it reads stderr
/// (`LogDestination`). Call once, first thing in `run()`.
func bootstrapLogging(level: Logger.Level, format: LineLogHandler.Format) -> Logger {
    let destination = LogDestination.detect(environment: ProcessInfo.processInfo.environment)
    processLogLevel.level = level
    LoggingSystem.bootstrap { label in
        LineLogHandler(label: label, level: processLogLevel, format: format, destination: destination)
    }
    return Logger(label: "np6-sync")
}

/// Runs a command's body and turns what it throws into a message on stderr and the contract's
/// exit code: 78 for configuration or credentials, 1 for anything else at run time.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ConfigurationError {
        printError("configuration error:\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
        throw ExitCode(78)
    } catch let error as SyncStoreError {
        printError("\(error)")
        if case .newerSchema = error { throw ExitCode(78) }
        throw ExitCode.failure
    } catch {
        printError("\(error)")
        throw ExitCode.failure
    }
}

/// `--json` for a report (`status`, `sinks status`): one document, indented, keys sorted, `/`
/// left as it is.
func prettyJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

func printError(_ message: String) {
    let lines = "np6-sync: \(message)".split(separator: "\n", omittingEmptySubsequences: false)
    FileHandle.standardError.write(Data(lines.map { errorPrefix + $0 + "\n" }.joined().utf8))
}

/// `<3>` before each line of an error message when journald reads stderr, so that it files the
/// line as an error (`journalctl -p err`), not as the stream's default, info.
private let errorPrefix =
    LogDestination.standardErrorIsJournal(environment: ProcessInfo.processInfo.environment) ? "<3>" : ""

/// `KIND:VALUE` on the command line, e.g. `unicity:jane@example.com`.
extension ContactReference: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(parsing: argument)
    }
}
