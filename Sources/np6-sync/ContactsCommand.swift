import ArgumentParser
import Config
import Foundation
import NP6Model
import NP6Sync
import SyncStore

struct ContactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts",
        abstract: "List, add, remove or import the contacts np6-sync polls.",
        discussion: "Contacts live in the database; the config's contacts and contactsFile are added to it on sync.",
        subcommands: [List.self, Add.self, Remove.self, Import.self, SetWatermark.self, Reset.self, Recheck.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the contacts with their sync state.")

        @OptionGroup var options: GlobalOptions

        @Flag(help: "Include removed contacts.")
        var all = false

        @Flag(help: "Print one JSON object per line instead of text.")
        var json = false

        func run() async throws {
            try await options.withRuntime(.writing, addingConfiguredContacts: true) { runtime in
                // Keys sorted: JSONEncoder does not keep the order in which they are encoded.
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                var afterID: Int64 = 0
                while true {
                    let page = try await runtime.database.contacts(afterID: afterID, limit: 1000, enabledOnly: !all)
                    for contact in page {
                        print(
                            json
                                ? String(decoding: try encoder.encode(Record(contact)), as: UTF8.self)
                                : Self.text(contact))
                    }
                    guard let last = page.last, page.count == 1000 else { break }
                    afterID = last.id
                }
            }
        }

        static func text(_ contact: StoredContact) -> String {
            let watermark = contact.watermarkMs.map { Timestamp.iso8601(milliseconds: $0) } ?? "never synced"
            var line = "\(contact.reference)\t\(contact.lastStatus?.rawValue ?? "new")\t\(watermark)"
            if !contact.enabled { line += "\tremoved" }
            if let error = contact.lastError { line += "\t\(error)" }
            return line
        }

        /// One line of `contacts list --json`: a missing `status`, `watermarkMs` or `lastError` is `null`.
        struct Record: Encodable {
            var contact: StoredContact

            init(_ contact: StoredContact) { self.contact = contact }

            enum CodingKeys: String, CodingKey {
                case kind, value, enabled, status, watermarkMs, nextDueMs, consecutiveFailures, lastError
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(contact.reference.kind.rawValue, forKey: .kind)
                try container.encode(contact.reference.value, forKey: .value)
                try container.encode(contact.enabled, forKey: .enabled)
                try container.encode(contact.lastStatus?.rawValue, forKey: .status)
                try container.encode(contact.watermarkMs, forKey: .watermarkMs)
                try container.encode(contact.nextDueMs, forKey: .nextDueMs)
                try container.encode(contact.consecutiveFailures, forKey: .consecutiveFailures)
                try container.encode(contact.lastError, forKey: .lastError)
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add contacts (or enable removed ones again); they are polled on the next pass.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "Contacts as KIND:VALUE, e.g. unicity:jane@example.com id:000R4M0T hash:0441….")
        var contacts: [ContactReference]

        func run() async throws {
            try await options.withRuntime(.writing) { runtime in
                let result = try await runtime.database.addContacts(contacts, now: WallClock.nowMs())
                print("added \(result.added), re-enabled \(result.reenabled), already present \(result.unchanged)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop polling contacts. Their stored events are kept; adding a contact again resumes it.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "Contacts as KIND:VALUE.")
        var contacts: [ContactReference]

        func run() async throws {
            try await options.withRuntime(.writing) { runtime in
                var unknown: [ContactReference] = []
                var removed = 0
                for contact in contacts {
                    if try await runtime.database.removeContact(contact) {
                        removed += 1
                    } else {
                        unknown.append(contact)
                    }
                }
                print("removed \(removed)")
                guard unknown.isEmpty else {
                    printError("not an enabled contact: " + unknown.map(\.description).joined(separator: ", "))
                    throw ExitCode.failure
                }
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Add contacts from a file: a JSON list of {\"id\"|\"unicity\"|\"hash\": …} or one KIND:VALUE per line.",
            discussion:
                "All or nothing: when a line is wrong, each bad line is reported with its number and nothing is added."
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The file, or - for standard input.")
        var file: String

        func run() async throws {
            try await options.withRuntime(.writing) { runtime in
                // Read as it is stored, in one transaction: a million lines are never all in memory,
                // and a bad line anywhere leaves the database as it was.
                let (result, droppedRepeats): (AddedContacts, Int)
                do {
                    (result, droppedRepeats) = try await runtime.database.addContacts(now: WallClock.nowMs()) {
                        [file] add in
                        try ContactList.forEachContact(inFile: file, add)
                    }
                } catch let error as ConfigurationError {
                    printError("nothing imported:\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
                    throw ExitCode.failure
                }
                let repeats = result.repeated + droppedRepeats
                print(
                    "imported \(result.added + result.reenabled + result.unchanged) contacts: added \(result.added), "
                        + "re-enabled \(result.reenabled), already present \(result.unchanged), duplicates in the file \(repeats)"
                )
            }
        }
    }

    struct SetWatermark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-watermark",
            abstract:
                "Re-sync a contact from a point in time: its next poll asks for events since TIME minus the lookback.",
            discussion: "Stored events stay; re-read ones are deduplicated. The contact is polled on the next pass."
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The contact, KIND:VALUE.")
        var contact: ContactReference

        @Argument(help: "ISO-8601 (2026-11-01T00:00:00Z) or ms since the epoch.")
        var time: String

        func validate() throws {
            guard Timestamp.parseMilliseconds(time) != nil else {
                throw ValidationError(
                    "TIME takes ISO-8601 with an offset (2026-11-01T00:00:00Z) or ms since the epoch; got \"\(time)\"")
            }
        }

        func run() async throws {
            try await setWatermark(contact, to: Timestamp.parseMilliseconds(time), options: options)
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-sync a contact from sync.initialStart: its watermark is cleared.",
            discussion: "Stored events stay; re-read ones are deduplicated. The contact is polled on the next pass."
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The contact, KIND:VALUE.")
        var contact: ContactReference

        func run() async throws {
            try await setWatermark(contact, to: nil, options: options)
        }
    }
}

extension ContactsCommand {
    struct Recheck: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make contacts due now: the named ones, or with --not-found every contact the API answered 404 for.",
            discussion: """
                A running daemon polls them within a second; `sync` polls every contact anyway. \
                Their watermarks and stored events stay. Use it after fixing api.baseURL, or when \
                contacts the API did not know should exist now.
                """
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "Contacts as KIND:VALUE.")
        var contacts: [ContactReference] = []

        @Flag(help: "Every contact whose last poll was a 404 (status not_found).")
        var notFound = false

        func validate() throws {
            guard notFound || !contacts.isEmpty else {
                throw ValidationError("name contacts as KIND:VALUE, or pass --not-found")
            }
        }

        func run() async throws {
            try await options.withRuntime(.writing) { runtime in
                let now = WallClock.nowMs()
                var due = 0
                if notFound { due += try await runtime.database.recheckNotFoundContacts(now: now) }
                let unknown = try await runtime.database.recheckContacts(contacts, now: now)
                due += contacts.count - unknown.count
                print("due now: \(due) contacts")
                guard unknown.isEmpty else {
                    printError("not an enabled contact: " + unknown.map(\.description).joined(separator: ", "))
                    throw ExitCode.failure
                }
            }
        }
    }
}

/// The watermark commands' shared body: unknown contacts fail with exit 1.
private func setWatermark(_ contact: ContactReference, to watermarkMs: Int64?, options: GlobalOptions) async throws {
    try await options.withRuntime(.writing) { runtime in
        guard try await runtime.database.setWatermark(contact, to: watermarkMs, now: WallClock.nowMs()) else {
            printError("no such contact: \(contact)")
            throw ExitCode.failure
        }
        let watermark =
            watermarkMs.map { Timestamp.iso8601(milliseconds: $0) } ?? "cleared (re-read from sync.initialStart)"
        print("\(contact): watermark \(watermark); due now")
    }
}
