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

private func lines(_ path: String) -> [Substring] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
}
