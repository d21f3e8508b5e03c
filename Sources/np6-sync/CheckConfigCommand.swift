import ArgumentParser
import Config
import Foundation
import NP6Sync
import PostgresStore

struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract:
            "Validate the config file and everything it refers to (API key, contacts file, secrets); exit 78 if wrong.",
        discussion: """
            With database.url, it also connects to PostgreSQL with the configured password and reads the schema \
            version, changing nothing: a refused password or an unreachable server exits 1.
            """
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let configuration = try options.loadConfiguration()
            try configuration.checkReferencedFiles(environment: options.environment)
            let contacts = try configuration.loadContacts()
            var database = configuration.database.location
            if let url = configuration.database.url {
                let password = try configuration.database.resolvePassword(environment: options.environment)
                let check = try await PostgresEventStore.check(url.endpoint, password: password?.unredactedValue)
                let schema = check.schemaVersion.map { "schema version \($0)" } ?? "no np6-sync schema yet"
                let tls = check.tls ? "over TLS" : "without TLS"
                database += " (connected \(tls): PostgreSQL \(check.serverVersion), \(schema))"
            }
            print(
                "configuration OK: \(contacts.count) contacts, \(configuration.sinks.count) sinks, "
                    + "API \(configuration.api.baseURL), database \(database)")
        }
    }
}
