import ArgumentParser
import Config
import Foundation
import Logging
import NP6Model
import NP6Sync
import SQLiteStore
import SyncStore

/// Where the configuration and the database are, for every command that uses them.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The config file (default: $NP6_SYNC_CONFIG, else /etc/np6-sync/config.json).")
    var config: String?

    @Option(help: "The SQLite database, instead of the config's database.path.")
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
        if let database { configuration.database.path = database }
        return configuration
    }
}

/// The store a configuration names: today always the SQLite file at `database.path`.
@Sendable func openStore(_ configuration: DatabaseConfiguration) async throws -> any EventStore {
    try SQLiteEventStore.open(path: configuration.path)
}

/// The store a configuration names, for commands that only read it (`status`, `events`,
/// `sinks status`): they work while another process holds the write lock.
@Sendable func openStoreForReading(_ configuration: DatabaseConfiguration) async throws -> any EventStore {
    try SQLiteEventStore.openForReading(path: configuration.path)
}

/// Sends the logs where the configuration says, at `override` or the configured level.
func bootstrapLogging(_ configuration: SyncConfiguration, override: Logger.Level?) -> Logger {
    bootstrapLogging(
        level: override ?? Logger.Level(rawValue: configuration.logging.level.rawValue) ?? .info,
        format: LineLogHandler.Format(rawValue: configuration.logging.format.rawValue) ?? .logfmt)
}

/// The level of every log line of the process; `run` changes it on SIGHUP.
let processLogLevel = LogLevelControl(.info)

/// Sends swift-log to stderr, one line per record. Call once, first thing in `run()`.
func bootstrapLogging(level: Logger.Level, format: LineLogHandler.Format) -> Logger {
    let timestamps = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] == nil
    processLogLevel.level = level
    LoggingSystem.bootstrap { label in
        LineLogHandler(label: label, level: processLogLevel, format: format, timestamps: timestamps)
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
    FileHandle.standardError.write(Data("np6-sync: \(message)\n".utf8))
}

/// `KIND:VALUE` on the command line, e.g. `unicity:jane@example.com`.
extension ContactReference: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(parsing: argument)
    }
}
