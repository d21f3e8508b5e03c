import Foundation
import GRDB
import Testing

/// `sync` delivering to sinks, `sinks status` and `sinks replay`, as an operator runs them.
extension SyncEndToEndTests {
    @Test func syncDeliversToSinksAndReplayRedelivers() async throws {
        try await withFakeAPIProcess(
            arguments: ["--contacts", "8", "--seed", "5", "--events-per-contact", "1-4"], apiKey: apiKey
        ) {
            baseURL in
            let directory = try TemporaryDirectory()
            let archive = directory.path("archive.jsonl")
            let piped = directory.path("piped.jsonl")
            let contacts =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
                as! [[String: String]]
            let config = directory.file(
                "config.json",
                contents: """
                    {"api": {"baseURL": "\(baseURL)", "requestsPerSecond": 200},
                     "database": {"path": "\(directory.path("sync.sqlite"))"},
                     "contacts": [\(contacts.map { #"{"id": "\#($0["id"]!)"}"# }.joined(separator: ", "))],
                     "sinks": [
                       {"name": "archive", "type": "jsonl", "path": "\(archive)", "batchSize": 7},
                       {"name": "script", "type": "command", "argv": ["/bin/sh", "-c", "cat >> \\"$0\\"", "\(piped)"]},
                       {"name": "crm", "type": "webhook", "url": "http://127.0.0.1:9/hook", "timeoutSeconds": 1}
                     ]}
                    """)

            // The webhook's port is closed: that sink fails, the others deliver, sync exits 1.
            let sync = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(sync.status == 1, "stderr: \(sync.stderr)")
            #expect(sync.stderr.contains("sink crm:"))
            let stored = try await DatabaseQueue(path: directory.path("sync.sqlite")).read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
            }
            #expect(stored > 0)
            #expect(lines(archive).count == stored)
            #expect(lines(piped) == lines(archive), "every sink gets the same records")

            let status = try await Binary.run(["sinks", "status", "--config", config, "--json"])
            #expect(status.status == 0, "stderr: \(status.stderr)")
            let sinks = try #require(
                (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["sinks"]
                    as? [[String: Any]])
            let byName = Dictionary(uniqueKeysWithValues: sinks.map { ($0["name"] as! String, $0) })
            #expect((byName["archive"]?["deliveredSeq"] as? NSNumber)?.intValue == stored)
            #expect(byName["archive"]?["state"] as? String == "running")
            #expect(byName["crm"]?["state"] as? String == "failing")
            #expect((byName["crm"]?["pendingEvents"] as? NSNumber)?.intValue == stored)
            #expect((byName["crm"]?["lastError"] as? String)?.contains("127.0.0.1") == true)
            let text = try await Binary.run(["sinks", "status", "--config", config])
            #expect(text.stdout.contains("crm  webhook  failing  cursor 0  lag \(stored) events"))

            let replay = try await Binary.run(["sinks", "replay", "archive", "--from-seq", "3", "--config", config])
            #expect(replay.status == 0, "stderr: \(replay.stderr)")
            #expect(replay.stdout.contains("cursor moved back from \(stored) to 2"))
            _ = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(lines(archive).count == stored + stored - 2, "events from seq 3 on, delivered again")

            let unknown = try await Binary.run(["sinks", "replay", "nope", "--from-seq", "1", "--config", config])
            #expect(unknown.status == 64)
            #expect(unknown.stderr.contains("configured: archive, script, crm"))
            let noPoint = try await Binary.run(["sinks", "replay", "archive", "--config", config])
            #expect(noPoint.status == 64)
        }
    }
}

extension SyncEndToEndTests {
    /// The daemon's secrets stay with the daemon: a command sink's program sees only the
    /// allow-listed variables, its `env` object and `NP6_SYNC_SINK`.
    @Test func commandSinkGetsAnAllowListedEnvironment() async throws {
        try await withFakeAPIProcess(
            arguments: ["--contacts", "3", "--seed", "5", "--events-per-contact", "1-2"], apiKey: apiKey
        ) {
            baseURL in
            let directory = try TemporaryDirectory()
            let dumped = directory.path("environment.txt")
            let contacts =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
                as! [[String: String]]
            let config = directory.file(
                "config.json",
                contents: """
                    {"api": {"baseURL": "\(baseURL)", "requestsPerSecond": 200},
                     "database": {"path": "\(directory.path("sync.sqlite"))"},
                     "contacts": [\(contacts.map { #"{"id": "\#($0["id"]!)"}"# }.joined(separator: ", "))],
                     "sinks": [
                       {"name": "dump", "type": "command", "env": {"CRM_URL": "https://crm.example.com", "TZ": "UTC"},
                        "argv": ["/bin/sh", "-c", "cat >/dev/null; exec /usr/bin/env > \\"$0\\"", "\(dumped)"]}
                     ]}
                    """)
            let sync = try await Binary.run(
                ["sync", "--config", config],
                environment: [
                    "NP6_API_KEY": apiKey, "CREDENTIALS_DIRECTORY": directory.path("credentials"),
                    "NOTIFY_SOCKET": directory.path("notify"), "NP6_SINK_TEST_OTHER": "other", "LANG": "C.UTF-8",
                    "LC_TIME": "C", "TZ": "Europe/Paris", "HOME": directory.path("home"),
                    "PATH": "/usr/local/bin:/usr/bin:/bin",
                ])
            #expect(sync.status == 0, "stderr: \(sync.stderr)")
            // The shell adds PWD; CI's own LC_* variables, if any, are passed on too.
            let names = Set(lines(dumped).map { String($0.prefix { $0 != "=" }) }).filter {
                $0 == "LC_TIME" || !$0.hasPrefix("LC_")
            }
            #expect(
                names == ["PATH", "LANG", "LC_TIME", "TZ", "HOME", "NP6_SYNC_SINK", "CRM_URL", "PWD"],
                "got \(names.sorted())")
            let text = (try? String(contentsOfFile: dumped, encoding: .utf8)) ?? ""
            #expect(text.contains("NP6_SYNC_SINK=dump\n"))
            #expect(text.contains("TZ=UTC\n"), "the sink's env wins")
            #expect(text.contains("HOME=\(directory.path("home"))\n"))
            #expect(!text.contains(apiKey))
        }
    }
}

private func lines(_ path: String) -> [Substring] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
}
