import ArgumentParser
import Config
import NP6Sync

struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract:
            "Validate the config file and everything it refers to (API key, contacts file, secrets); exit 78 if wrong."
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await runReportingErrors {
            let configuration = try options.loadConfiguration()
            try configuration.checkReferencedFiles(environment: options.environment)
            let contacts = try configuration.loadContacts()
            print(
                "configuration OK: \(contacts.count) contacts, \(configuration.sinks.count) sinks, "
                    + "API \(configuration.api.baseURL), database \(configuration.database.path)")
        }
    }
}
