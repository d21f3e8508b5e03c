import ArgumentParser
import Logging
import NP6Demo
import NP6Sync

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a real sync against the built-in fake NP6 API into a local SQLite file, and show the result."
    )

    @Option(help: "The SQLite file to (re)create.")
    var database = "np6-sync-demo.sqlite"

    @Option(help: "How many contacts the fake API serves.")
    var contacts = 50

    @Option(help: "Seed of the fake API's data.")
    var seed: UInt64 = 2026

    @Option(help: "Log level on stderr (trace, debug, info, notice, warning, error, critical).")
    var logLevel: Logger.Level = .error

    func validate() throws {
        guard contacts >= 1 else { throw ValidationError("--contacts must be at least 1") }
    }

    func run() async throws {
        let logger = bootstrapLogging(level: logLevel, format: .logfmt)
        try await runReportingErrors {
            try await Demo(databasePath: database, contactCount: contacts, seed: seed)
                .run(logger: logger, print: { print($0) })
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
