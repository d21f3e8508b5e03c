import ArgumentParser
import Config
import Logging
import NP6Sync
import SQLiteStore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Run the daemon: poll contacts as they fall due until SIGTERM or SIGINT; SIGHUP reloads the configuration.",
        discussion: """
            Exits 0 after SIGTERM/SIGINT, 78 when the configuration is wrong, the API refuses the \
            key or another daemon runs on the same SQLite file (systemd's RestartPreventExitStatus=78 \
            keeps it from restarting in a loop), 1 on a runtime failure such as an unwritable database.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Log level on stderr, instead of the config's logging.level.")
    var logLevel: Logger.Level?

    func run() async throws {
        try await runReportingErrors {
            let (configuration, logger, key) = try options.setUpForAPI(logLevel: logLevel, checkingFiles: true)
            let lock = try Self.lockDatabase(configuration.database)
            defer { withExtendedLifetime(lock) {} }
            let options = options
            let daemon = try await Daemon.make(
                configuration: configuration, apiKey: key, environment: options.environment, logger: logger,
                // --log-level pins the level; otherwise SIGHUP applies the file's logging.level.
                logLevel: logLevel == nil ? processLogLevel : nil,
                openStore: openStoreForDaemon,
                reloadConfiguration: {
                    let fresh = try options.loadConfiguration()
                    try fresh.checkReferencedFiles(environment: options.environment, requiringAPIKey: false)
                    return fresh
                })
            do {
                try await daemon.run()
            } catch let error as DaemonError {
                logger.critical("Stopping: the API refused the key", metadata: ["error": "\(error)"])
                printError("\(error)")
                throw ExitCode(78)
            }
        }
    }

    /// One daemon per SQLite file (on PostgreSQL daemons share the contacts by lease): a second
    /// one would poll every contact and deliver every event again, so it exits 78 saying why.
    static func lockDatabase(_ database: DatabaseConfiguration) throws -> DaemonFileLock? {
        guard database.url == nil else { return nil }
        do {
            return try DaemonFileLock.acquire(besideDatabaseAt: database.path)
        } catch {
            guard case .heldByAnotherProcess = error else { throw error }
            printError("\(error)")
            throw ExitCode(78)
        }
    }
}
