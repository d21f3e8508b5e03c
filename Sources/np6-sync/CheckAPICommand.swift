import ArgumentParser
import Config
import Foundation
import Logging
import NP6Client
import NP6Model
import NP6Sync
import SyncStore

struct CheckAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-api",
        abstract: "Check online, with your key, every assumption about the NP6 API that sync relies on.",
        discussion: """
            Reads the history of configured contacts (or the --contact ones) until it finds events, \
            then asks narrow windows around one: integer bounds are milliseconds, start is \
            inclusive, end exclusive, ISO-8601 bounds agree with integer ones, sort=asc is honoured, \
            and the history without bounds equals the union of windows. Prints each check with what \
            was sent and what came back. Exits 0 when all pass, 1 when one fails or could not be \
            checked (no contact with events), 78 for a configuration mistake or a refused key.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(
        name: .customLong("contact"), help: "A contact to read, KIND:VALUE (repeatable); default: the configured ones.")
    var contacts: [ContactReference] = []

    func run() async throws {
        try await runReportingErrors {
            let configuration = try options.loadConfiguration()
            _ = bootstrapLogging(level: .warning, format: .logfmt)
            let key = try configuration.api.resolveKey(environment: options.environment)
            let candidates = try await candidates(configuration)
            let client = Runtime.makeClient(configuration.api, apiKey: key)
            let report: APIChecker.Report
            do {
                let pacer = RequestPacer(
                    requestsPerSecond: configuration.api.requestsPerSecond, wallNowMs: WallClock.nowMs)
                report = try await APIChecker(client: client, pacer: pacer).run(contacts: candidates)
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
            print("check-api: \(configuration.api.baseURL)")
            for check in report.checks {
                print(Self.describe(check))
            }
            if let status = report.unauthorizedStatus {
                printError("HTTP \(status): the API key was refused")
                throw ExitCode(78)
            }
            if !report.failed.isEmpty {
                printError("\(report.failed.count) of \(report.checks.count) assumptions do not hold")
                throw ExitCode.failure
            }
            if !report.unchecked.isEmpty {
                printError("\(report.unchecked.count) of \(report.checks.count) assumptions could not be checked")
                throw ExitCode.failure
            }
        }
    }

    /// `--contact`, else the configured contacts, else those of an existing database.
    private func candidates(_ configuration: SyncConfiguration) async throws -> [ContactReference] {
        if !contacts.isEmpty { return contacts }
        let configured = try configuration.loadContacts()
        if !configured.isEmpty
            || (configuration.database.url == nil
                && !FileManager.default.fileExists(atPath: configuration.database.path))
        {
            return configured
        }
        return try await openStore(configuration.database).contacts(limit: 1000, enabledOnly: true).map(\.reference)
    }

    static func describe(_ check: APIChecker.Check) -> String {
        let verdict =
            switch check.passed {
            case true?: "pass"
            case false?: "FAIL"
            case nil: "skip"
            }
        var lines = ["\(verdict)  \(check.assumption)"]
        lines += check.sent.map { "      sent: \($0)" }
        lines.append("      got:  \(check.received)")
        if check.passed != true {
            lines.append("      \(check.passed == nil ? "so" : "sync would"): \(check.consequence)")
        }
        return lines.joined(separator: "\n")
    }
}
