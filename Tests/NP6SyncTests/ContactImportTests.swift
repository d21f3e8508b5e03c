import Config
import Foundation
import NP6Client
import NP6Model
import SQLiteStore
import Sinks
import SyncStore
import Testing

@testable import NP6Sync

/// `contacts import`'s path: a file read line by line straight into one transaction.
@Suite(.timeLimit(.minutes(5))) struct ContactImportTests {
    func withFile<T>(_ bytes: [UInt8], _ body: (String) async throws -> T) async throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("contacts-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }

    func importFile(_ path: String, into database: SQLiteEventStore) async throws -> (AddedContacts, Int) {
        try await database.addContacts(now: 1) { add in try ContactList.forEachContact(inFile: path, add) }
    }

    func contactCount(_ database: SQLiteEventStore) async throws -> Int {
        try await database.contacts(limit: 1_000_000, enabledOnly: false).count
    }

    /// 30,000 lines (about 600 KiB, ten reads of 64 KiB): a byte-order mark, CRLF, comments,
    /// repeats and lines cut by the read boundaries.
    func bigList(badLineAt bad: Int? = nil) -> [UInt8] {
        var text = "\u{FEFF}# exported\r\n"
        for index in 0..<30_000 {
            text += index == bad ? "email:x\(index)@example.com\r\n" : "unicity:person\(index % 25_000)@example.com\r\n"
        }
        return Array(text.utf8)
    }

    @Test func aLargeFileIsImportedWithRepeatsCounted() async throws {
        try await withTemporaryDatabase { database in
            try await withFile(bigList()) { path in
                let (added, dropped) = try await importFile(path, into: database)
                #expect(added == AddedContacts(added: 25_000, repeated: 5_000))
                #expect(dropped == 0)
                #expect(try await contactCount(database) == 25_000)
                #expect(
                    try await database.contact(ContactReference(kind: .unicity, value: "person24999@example.com"))
                        != nil)

                // Again: everything is already there; a removed contact comes back.
                _ = try await database.removeContact(ContactReference(kind: .unicity, value: "person7@example.com"))
                let (again, _) = try await importFile(path, into: database)
                #expect(again == AddedContacts(reenabled: 1, unchanged: 24_999, repeated: 5_000))
            }
        }
    }

    @Test func aBadLineAnywhereLeavesTheDatabaseAsItWas() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts([ContactReference(kind: .id, value: "KEPT")], now: 0)
            // Line 1 is the comment; the bad entry is far past the first read.
            try await withFile(bigList(badLineAt: 28_000)) { path in
                let error = await #expect(throws: ConfigurationError.self) {
                    try await importFile(path, into: database)
                }
                #expect(
                    error?.issues.map(\.description) == [
                        #"\#(path): line 28002: unknown kind "email"; expected id, unicity or hash"#
                    ])
                let count = try await contactCount(database)
                #expect(count == 1)
            }
        }
    }

    @Test func aJSONListIsImportedWithItsRepeatsCounted() async throws {
        try await withTemporaryDatabase { database in
            let json = #" [{"id": "000R4M0T"}, {"hash": "0d5a"}, {"id": "000R4M0T"}]"#
            try await withFile(Array(json.utf8)) { path in
                let (added, dropped) = try await importFile(path, into: database)
                #expect(added == AddedContacts(added: 2))
                #expect(dropped == 1)
            }
        }
    }

    @Test func anUnreadableFileIsNamed() async throws {
        try await withTemporaryDatabase { database in
            let error = await #expect(throws: ConfigurationError.self) {
                try await importFile("/nonexistent/contacts.txt", into: database)
            }
            #expect(
                error?.description.contains("/nonexistent/contacts.txt: cannot read the contacts: No such file") == true
            )
        }
    }
}
