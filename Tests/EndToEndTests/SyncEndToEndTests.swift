import Foundation
import GRDB
import Testing

/// The built binary against a `fake-api` process: what an operator runs, checked with SQL.
@Suite(.timeLimit(.minutes(10))) struct SyncEndToEndTests {
    let apiKey = "e2e-key-7d41c0b2f9a86e35"

    @Test func syncStoresExactlyTheAPIsEvents() async throws {
        try await withFakeAPIProcess(
            arguments: ["--contacts", "30", "--seed", "11", "--events-per-contact", "0-6"], apiKey: apiKey
        ) { baseURL in
            let directory = try TemporaryDirectory()
            let contacts =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
                as! [[String: String]]
            #expect(contacts.count == 30)
            // Each contact under one of the three kinds, in a contacts file of KIND:VALUE lines.
            let lines = contacts.enumerated().map { index, contact in
                let kind = ["id", "unicity", "hash"][index % 3]
                return "\(kind):\(contact[kind]!)"
            }
            let contactsFile = directory.file(
                "contacts.txt", contents: "# e2e\n" + lines.joined(separator: "\n") + "\n")
            let database = directory.path("sync.sqlite")
            let config = directory.file(
                "config.json",
                contents: """
                    {"api": {"baseURL": "\(baseURL)", "requestsPerSecond": 200, "maxConcurrentRequests": 4},
                     "database": {"path": "\(database)"}, "contactsFile": "\(contactsFile)"}
                    """)

            let first = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(first.status == 0, "stderr: \(first.stderr)")
            #expect(first.stdout.contains("synced 30 contacts"))
            let second = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(second.status == 0, "stderr: \(second.stderr)")
            #expect(second.stdout.contains("0 new events"))

            let published =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/events")) as! [[String: Any]]
            let expected = published.compactMap { ($0["event"] as? [String: Any])?["id"] as? String }
            #expect(!expected.isEmpty)
            let queue = try DatabaseQueue(path: database)
            let (ids, rows) = try await queue.read { db in
                (
                    try String.fetchAll(db, sql: "SELECT id FROM events"),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
                )
            }
            #expect(Set(ids) == Set(expected), "same ids, none missing, none extra")
            #expect(rows == expected.count, "none stored twice")
            let integrity = try await queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
            #expect(integrity == "ok")

            let events = try await Binary.run(["events", "--config", config, "--json"])
            #expect(events.status == 0)
            #expect(events.stdout.split(separator: "\n").count == expected.count)
            let status = try await Binary.run(["status", "--config", config, "--json"])
            #expect(status.status == 0)
            #expect(status.stdout.contains("\"stored\" : \(expected.count)"))
            for output in [first, second, events, status] {
                #expect(!output.stdout.contains(apiKey) && !output.stderr.contains(apiKey))
            }
        }
    }

    @Test func refusedKeyExits78WithoutShowingTheKey() async throws {
        try await withFakeAPIProcess(arguments: ["--contacts", "3"], apiKey: apiKey) { baseURL in
            let directory = try TemporaryDirectory()
            let wrongKey = "wrong-e2e-key-0c9d8e7f6a"
            let keyFile = directory.file("key", contents: wrongKey + "\n")
            let config = directory.file(
                "config.json",
                contents: """
                    {"api": {"baseURL": "\(baseURL)", "keyFile": "\(keyFile)"}, "database": {"path": "\(directory.path("db.sqlite"))"},
                     "contacts": [{"id": "000AAAAA"}]}
                    """)
            let result = try await Binary.run(["sync", "--config", config, "--log-level", "debug"])
            #expect(result.status == 78)
            #expect(result.stderr.contains("401"))
            #expect(!result.stderr.contains(wrongKey) && !result.stdout.contains(wrongKey))
        }
    }

    @Test func wrongPathPrefixExits78NamingTheBaseURLAndMarksNoContactNotFound() async throws {
        try await withFakeAPIProcess(arguments: ["--contacts", "12", "--seed", "5"], apiKey: apiKey) { baseURL in
            let directory = try TemporaryDirectory()
            let contacts =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
                as! [[String: String]]
            let database = directory.path("db.sqlite")
            let list = contacts.map { #"{"id": "\#($0["id"]!)"}"# }.joined(separator: ",")
            func config(_ base: String) -> String {
                directory.file(
                    "config.json",
                    contents: """
                        {"api": {"baseURL": "\(base)"}, "database": {"path": "\(database)"}, "contacts": [\(list)]}
                        """)
            }
            let wrong = try await Binary.run(
                ["sync", "--config", config(baseURL + "/np6/v1")], environment: ["NP6_API_KEY": apiKey])
            #expect(wrong.status == 78, "stderr: \(wrong.stderr)")
            #expect(wrong.stderr.contains("api.baseURL (\(baseURL)/np6/v1)"))
            #expect(wrong.stderr.contains("\(baseURL)/np6/v1/targets/events/responses/stop?id="))
            #expect(!wrong.stderr.contains(apiKey) && !wrong.stdout.contains(apiKey))
            let queue = try DatabaseQueue(path: database)
            let marked = try await queue.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM contacts WHERE last_status IS NOT NULL") ?? -1
            }
            #expect(marked == 0, "no contact marked not_found")

            // A contact parked as not_found (by an older run) is made due by `contacts recheck`.
            let parkedUntil: Int64 = 4_000_000_000_000
            try await queue.write { db in
                try db.execute(
                    sql: "UPDATE contacts SET last_status = 'not_found', next_due_ms = ? WHERE value = ?",
                    arguments: [parkedUntil, contacts[0]["id"]!])
            }
            let recheck = try await Binary.run(["contacts", "recheck", "--database", database, "--not-found"])
            #expect(recheck.status == 0, "stderr: \(recheck.stderr)")
            #expect(recheck.stdout.contains("due now: 1 contacts"))
            let due = try await queue.read { db in
                try Int64.fetchOne(
                    db, sql: "SELECT next_due_ms FROM contacts WHERE value = ?", arguments: [contacts[0]["id"]!])
            }
            #expect(try #require(due) < parkedUntil)
            let unknown = try await Binary.run(["contacts", "recheck", "--database", database, "id:NOBODY"])
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("id:NOBODY"))
            #expect(try await Binary.run(["contacts", "recheck", "--database", database]).status == 64)

            let fixed = try await Binary.run(
                ["sync", "--config", config(baseURL)], environment: ["NP6_API_KEY": apiKey])
            #expect(fixed.status == 0, "stderr: \(fixed.stderr)")
            #expect(fixed.stdout.contains("0 not found"))
        }
    }

    @Test func configMistakesExit78NamingTheKey() async throws {
        let directory = try TemporaryDirectory()
        let config = directory.file(
            "config.json", contents: #"{"schedule": {"intervalSeconds": -5}, "api": {"baseURL": 3}}"#)
        let result = try await Binary.run(["check-config", "--config", config], environment: ["NP6_API_KEY": "k"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("schedule.intervalSeconds"))
        #expect(result.stderr.contains("api.baseURL"))
        let missingKey = try await Binary.run(["sync", "--config", directory.file("ok.json", contents: "{}")])
        #expect(missingKey.status == 78)
        #expect(missingKey.stderr.contains("NP6_API_KEY"))
        let usage = try await Binary.run(["events", "--since", "yesterday-ish"])
        #expect(usage.status == 64)
    }

    @Test func contactsCanBeImportedListedAndRemoved() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.path("contacts.sqlite")
        let bad = try await Binary.run(
            ["contacts", "import", "--database", database, "-"], stdin: "id:000R4M0T\nemail:x@y.z\n")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("line 2"))
        let good = try await Binary.run(
            ["contacts", "import", "--database", database, "-"],
            stdin: "id:000R4M0T\nunicity:a+b@example.com\n# comment\n")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("added 2"))
        #expect(try await Binary.run(["contacts", "remove", "--database", database, "id:000R4M0T"]).status == 0)
        let list = try await Binary.run(["contacts", "list", "--database", database])
        #expect(list.stdout.contains("unicity:a+b@example.com"))
        #expect(!list.stdout.contains("000R4M0T"))
        let permissions = try FileManager.default.attributesOfItem(atPath: database)[.posixPermissions] as? NSNumber
        #expect((permissions?.intValue ?? 0o777) & 0o077 == 0)
    }

    @Test func demoRunsAsTheReadmeSays() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.path("demo.sqlite")
        let result = try await Binary.run(["demo", "--database", database], timeout: 120)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("Pass 2"))
        #expect(result.stdout.contains("sqlite3"))
        let queue = try DatabaseQueue(path: database)
        let events = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 }
        #expect(events > 0)
    }
}

/// A directory removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("np6-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func file(_ name: String, contents: String) -> String {
        let path = path(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(contents.utf8))
        return path
    }
}
