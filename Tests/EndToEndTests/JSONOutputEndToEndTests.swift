import Foundation
import GRDB
import Testing

/// What `--json` prints, key by key: a script reading it must not notice how it is produced.
/// Part of the suite of the binary's tests.
extension SyncEndToEndTests {
    /// A demo database, with sink cursors (one of a sink no longer configured), a dead letter and
    /// a failing contact added by hand, and a config naming three sinks (one that never ran).
    struct JSONFixture {
        let directory: TemporaryDirectory
        let config: String
        let database: String

        init() async throws {
            directory = try TemporaryDirectory()
            database = directory.path("demo.sqlite")
            let demo = try await Binary.run(["demo", "--database", database, "--contacts", "6"], timeout: 120)
            #expect(demo.status == 0, "stderr: \(demo.stderr)")
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            try await DatabaseQueue(path: database).write { db in
                try db.execute(
                    sql: """
                        INSERT INTO sink_cursors (sink, delivered_seq, updated_ms, state, last_error, last_attempt_ms,
                            last_success_ms, consecutive_failures)
                        VALUES ('archive', 3, ?1, 'running', NULL, ?1, ?1, 0),
                               ('crm', 0, ?1, 'failing', 'HTTP 503: "busy" </html>' || char(10) || 'é', ?1, NULL, 2),
                               ('gone', 1, ?1, 'running', NULL, ?1, ?1, 0)
                        """, arguments: [now])
                try db.execute(
                    sql: """
                        INSERT INTO dead_letters (sink, event_seq, event_id, answer, recorded_ms)
                            SELECT 'crm', seq, id, 'HTTP 422', ? FROM events ORDER BY seq LIMIT 1
                        """, arguments: [now])
                try db.execute(
                    sql: """
                        UPDATE contacts SET last_status = 'failed', last_error = 'HTTP 500: "down" a/b', consecutive_failures = 3
                            WHERE id = (SELECT min(id) FROM contacts);
                        UPDATE contacts SET enabled = 0 WHERE id = (SELECT max(id) FROM contacts);
                        """)
            }
            config = directory.file(
                "config.json",
                contents: """
                    {"database": {"path": "\(database)"},
                     "sinks": [
                       {"name": "archive", "type": "jsonl", "path": "\(directory.path("archive.jsonl"))"},
                       {"name": "crm", "type": "webhook", "url": "http://127.0.0.1:9/hook"},
                       {"name": "fresh", "type": "jsonl", "path": "\(directory.path("fresh.jsonl"))"}
                     ]}
                    """)
        }

        func run(_ arguments: [String]) async throws -> String {
            let result = try await Binary.run(arguments + ["--config", config])
            #expect(result.status == 0, "np6-sync \(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout
        }
    }

    static func object(_ text: some StringProtocol) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func keys(_ object: Any?) -> Set<String> {
        Set((object as? [String: Any])?.keys.map { $0 } ?? [])
    }

    /// Each sink's keys and the values that do not depend on the time.
    static func expectSinks(_ sinks: Any?) throws {
        let sinks = try #require(sinks as? [[String: Any]])
        #expect(
            sinks.map { $0["name"] as? String } == ["archive", "crm", "fresh", "gone"], "config order, then the rest")
        let cursorKeys: Set<String> = [
            "name", "type", "configured", "state", "deliveredSeq", "pendingEvents", "lagMs", "deadLetters", "lastError",
            "consecutiveFailures", "lastAttemptMs", "lastSuccessMs",
        ]
        let archive = sinks[0]
        let crm = sinks[1]
        let fresh = sinks[2]
        let gone = sinks[3]
        #expect(keys(archive) == cursorKeys)
        #expect(archive["type"] as? String == "jsonl" && archive["configured"] as? Bool == true)
        #expect(archive["state"] as? String == "running" && (archive["deliveredSeq"] as? NSNumber)?.intValue == 3)
        #expect(archive["lastError"] is NSNull, "a missing value is null")
        #expect((archive["pendingEvents"] as? NSNumber)?.intValue ?? 0 > 0)
        #expect(keys(crm) == cursorKeys)
        #expect(crm["state"] as? String == "failing" && crm["lastSuccessMs"] is NSNull)
        #expect(crm["lastError"] as? String == "HTTP 503: \"busy\" </html>\né")
        #expect(
            (crm["deadLetters"] as? NSNumber)?.intValue == 1 && (crm["consecutiveFailures"] as? NSNumber)?.intValue == 2
        )
        #expect(keys(fresh) == ["name", "type", "configured", "state"], "a sink that never ran has no cursor fields")
        #expect(fresh["state"] as? String == "new")
        // No longer configured: listed, but not lagging.
        #expect(keys(gone) == cursorKeys.subtracting(["pendingEvents", "lagMs"]))
        #expect(gone["type"] is NSNull && gone["configured"] as? Bool == false)
        #expect(gone["state"] as? String == "not configured")
    }

    @Test func statusJSONKeepsItsShape() async throws {
        let fixture = try await JSONFixture()
        let text = try await fixture.run(["status", "--json"])
        let status = try Self.object(text)
        #expect(
            Self.keys(status)
                == [
                    "database", "sinks", "contacts", "events", "failing", "oldestWatermarkMs", "lagMs", "lastRun",
                    "instances",
                ])
        // SQLite: one process, no instances table.
        #expect((status["instances"] as? [Any])?.isEmpty == true)
        #expect(status["database"] as? String == fixture.database, "slashes are not escaped")
        #expect(text.contains("\"database\" : \"\(fixture.database)\""), "indented, \"key\" : value")
        let order = [
            "\"contacts\"", "\"database\"", "\"events\"", "\"failing\"", "\"instances\"", "\"lagMs\"",
            "\"lastRun\"", "\"oldestWatermarkMs\"", "\"sinks\"",
        ]
        let positions = order.map { text.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil } && positions == positions.sorted { $0! < $1! }, "keys sorted")
        #expect(Self.keys(status["contacts"]) == ["total", "enabled", "byStatus", "neverSynced"])
        let contacts = try #require(status["contacts"] as? [String: Any])
        let (total, enabled) = try await DatabaseQueue(path: fixture.database).read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM contacts") ?? 0,
                try Int.fetchOne(db, sql: "SELECT sum(enabled) FROM contacts") ?? 0
            )
        }
        #expect(
            (contacts["total"] as? NSNumber)?.intValue == total
                && (contacts["enabled"] as? NSNumber)?.intValue == enabled)
        #expect(total > enabled)
        #expect(((contacts["byStatus"] as? [String: Any])?["failed"] as? NSNumber)?.intValue == 1)
        #expect(Self.keys(status["events"]) == ["stored", "lastDay", "quarantined"])
        #expect(Self.keys(status["lagMs"]) == ["median", "p95", "max"])
        #expect(status["oldestWatermarkMs"] is NSNumber)
        let failing = try #require(status["failing"] as? [[String: Any]])
        #expect(failing.count == 1)
        #expect(Self.keys(failing.first) == ["kind", "value", "status", "error", "consecutiveFailures", "nextDueMs"])
        #expect(
            failing.first?["status"] as? String == "failed"
                && failing.first?["error"] as? String == "HTTP 500: \"down\" a/b")
        let run = try #require(status["lastRun"] as? [String: Any])
        #expect(
            Self.keys(run) == [
                "kind", "startedMs", "finishedMs", "contactsPolled", "contactsFailed", "requests", "eventsNew",
                "eventsDuplicate", "eventsConflicting", "eventsQuarantined", "error",
            ])
        #expect(run["error"] is NSNull && run["kind"] is String && run["eventsNew"] is NSNumber)
        try Self.expectSinks(status["sinks"])
    }

    @Test func sinksStatusJSONKeepsItsShapeAndARemovedSinkIsNotLagging() async throws {
        let fixture = try await JSONFixture()
        let status = try Self.object(try await fixture.run(["sinks", "status", "--json"]))
        #expect(Self.keys(status) == ["database", "sinks"])
        #expect(status["database"] as? String == fixture.database)
        try Self.expectSinks(status["sinks"])

        let text = try await fixture.run(["sinks", "status"])
        let gone = text.split(separator: "\n").filter { $0.hasPrefix("gone") }
        #expect(gone == ["gone  not configured  cursor 1  dead letters 0"])
        #expect(text.contains("archive  jsonl  running  cursor 3  lag "))
        let summary = try await fixture.run(["status"])
        #expect(
            summary.split(separator: "\n").contains("  gone  not configured  cursor 1  dead letters 0"), "\(summary)")
    }

    @Test func contactsListJSONKeepsItsShape() async throws {
        let fixture = try await JSONFixture()
        let lines = try await fixture.run(["contacts", "list", "--all", "--json"]).split(separator: "\n")
        let total = try await DatabaseQueue(path: fixture.database).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM contacts")
        }
        #expect(lines.count == total)
        let fields = [
            "kind", "value", "enabled", "status", "watermarkMs", "nextDueMs", "consecutiveFailures", "lastError",
        ]
        for line in lines {
            let contact = try Self.object(line)
            #expect(Self.keys(contact) == Set(fields))
            #expect(contact["enabled"] is Bool && contact["nextDueMs"] is NSNumber && contact["status"] is String)
            #expect(!line.contains("\" : ") && !line.contains("\n"), "one compact line")
            #expect(line.hasPrefix(#"{"consecutiveFailures":"#), "keys sorted: \(line)")
        }
        let failed = try Self.object(try #require(lines.first))
        #expect(failed["lastError"] as? String == "HTTP 500: \"down\" a/b")
        #expect(lines.first?.contains(#""lastError":"HTTP 500: \"down\" a/b""#) == true, "slashes are not escaped")
        #expect(try Self.object(try #require(lines.last))["enabled"] as? Bool == false)
        #expect(try Self.object(try #require(lines.dropFirst().first))["lastError"] is NSNull)
        #expect(
            try await fixture.run(["contacts", "list", "--json"]).split(separator: "\n").count == lines.count - 1,
            "removed ones only with --all")
    }

    @Test func eventsJSONIsTheSinkRecordWithTheStoredEventVerbatim() async throws {
        let fixture = try await JSONFixture()
        let lines = try await fixture.run(["events", "--json"]).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast()
        let expected = try await DatabaseQueue(path: fixture.database).read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT e.seq, c.kind, c.value, e.payload FROM events e LEFT JOIN contacts c ON c.id = e.contact_id ORDER BY e.seq"
            ).map { row -> String in
                let seq: Int64 = row[0]
                let kind: String = row[1]
                let value: String = row[2]
                let payload: String = row[3]
                return #"{"seq":\#(seq),"contact":{"kind":"\#(kind)","value":"\#(value)"},"event":\#(payload)}"#
            }
        }
        #expect(!expected.isEmpty)
        #expect(Array(lines.map(String.init)) == expected)
    }
}
