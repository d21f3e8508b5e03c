import Foundation
import GRDB
import Testing

/// `np6-sync run` as systemd runs it: signals, reloads, exit codes.
@Suite(.timeLimit(.minutes(10))) struct DaemonEndToEndTests {
    let apiKey = "daemon-key-2b8e4f61a9c3d705"

    func config(in directory: TemporaryDirectory, baseURL: String, contactsFile: String, extra: String = "") -> String {
        directory.file(
            "config.json",
            contents: """
                {"api": {"baseURL": "\(baseURL)", "requestsPerSecond": 100, "maxConcurrentRequests": 4, "timeoutSeconds": 30},
                 "database": {"path": "\(directory.path("daemon.sqlite"))"}, "contactsFile": "\(contactsFile)",
                 "schedule": {"intervalSeconds": 2, "jitterSeconds": 0}\(extra)}
                """)
    }

    func contactLines(_ baseURL: String, count: Int) async throws -> [String] {
        let contacts =
            try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
            as! [[String: String]]
        return contacts.prefix(count).enumerated().map { index, contact in
            let kind = ["id", "unicity", "hash"][index % 3]
            return "\(kind):\(contact[kind]!)"
        }
    }

    @Test func sigtermWithSlowRequestsInFlightExitsCleanlyWithin10Seconds() async throws {
        try await withFakeAPIProcess(
            arguments: ["--contacts", "8", "--seed", "21", "--events-per-contact", "2-6", "--latency-ms", "4000"],
            apiKey: apiKey
        ) { baseURL in
            let directory = try TemporaryDirectory()
            let lines = try await contactLines(baseURL, count: 8)
            let contactsFile = directory.file("contacts.txt", contents: lines.joined(separator: "\n"))
            let daemon = try DaemonProcess(
                arguments: [
                    "--config", config(in: directory, baseURL: baseURL, contactsFile: contactsFile), "--log-level",
                    "debug",
                ],
                environment: ["NP6_API_KEY": apiKey])
            #expect(await daemon.waitForLog("np6-sync started"))
            // Four slow requests in flight: the fake counts a request when it arrives.
            #expect(
                try await eventually { try await fakeRequestCount(baseURL) >= 4 }, "four requests reach the fake API")
            #expect(try await eventually { daemon.handles(SIGTERM) }, "the daemon traps SIGTERM")
            daemon.signal(SIGTERM)
            let exit = try #require(await daemon.waitForExit(timeout: 12))
            #expect(exit.status == 0, "stderr: \(daemon.stderr)")
            #expect(exit.seconds < 10)
            #expect(!daemon.stderr.contains(apiKey))

            // The database is sound, and no watermark passed an event that is not stored.
            let queue = try DatabaseQueue(path: directory.path("daemon.sqlite"))
            let (integrity, watermarks, stored) = try await queue.read { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                    try Row.fetchAll(
                        db, sql: "SELECT kind, value, watermark_ms FROM contacts WHERE watermark_ms IS NOT NULL"),
                    Set(try String.fetchAll(db, sql: "SELECT id FROM events"))
                )
            }
            #expect(integrity == "ok")
            let published =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/events")) as! [[String: Any]]
            let contacts =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
                as! [[String: String]]
            for row in watermarks {
                let kind: String = row[0]
                let value: String = row[1]
                let watermark: Int64 = row[2]
                let contactID = try #require(contacts.first { $0[kind] == value }?["id"])
                for entry in published where entry["contact"] as? String == contactID {
                    let event = entry["event"] as! [String: Any]
                    if (event["timestamp"] as! NSNumber).int64Value < watermark {
                        #expect(
                            stored.contains(event["id"] as! String),
                            "event before the watermark of \(kind):\(value) is stored")
                    }
                }
            }
        }
    }

    @Test func sighupReloadsContactsAndRefusesABrokenConfig() async throws {
        try await withFakeAPIProcess(arguments: ["--contacts", "6", "--seed", "22"], apiKey: apiKey) { baseURL in
            let directory = try TemporaryDirectory()
            let lines = try await contactLines(baseURL, count: 6)
            let contactsFile = directory.file("contacts.txt", contents: lines.prefix(3).joined(separator: "\n"))
            let configPath = config(in: directory, baseURL: baseURL, contactsFile: contactsFile)
            let daemon = try DaemonProcess(arguments: ["--config", configPath], environment: ["NP6_API_KEY": apiKey])
            #expect(await daemon.waitForLog("np6-sync started"))

            _ = directory.file("contacts.txt", contents: lines.joined(separator: "\n"))
            #expect(try await eventually { daemon.handles(SIGHUP) }, "the daemon traps SIGHUP")
            daemon.signal(SIGHUP)
            #expect(await daemon.waitForLog("Configuration reloaded"))
            #expect(daemon.stderr.contains("contacts.added=3"))
            let queue = try DatabaseQueue(path: directory.path("daemon.sqlite"))
            let deadline = Date().addingTimeInterval(60)
            var synced = 0
            while synced < 6, Date() < deadline {
                synced = try await queue.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM contacts WHERE last_status = 'ok'") ?? 0
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(synced == 6, "the reloaded contacts are polled without a restart")

            _ = directory.file("config.json", contents: #"{"schedule": {"intervalSeconds": "soon"}}"#)
            daemon.signal(SIGHUP)
            #expect(await daemon.waitForLog("Configuration reload refused"))
            #expect(daemon.stderr.contains("schedule.intervalSeconds"))
            #expect(daemon.process.isRunning, "a bad new config keeps the old one running")

            daemon.signal(SIGINT)
            #expect(await daemon.waitForExit(timeout: 60)?.status == 0)
        }
    }

    /// Issue 18: two daemons on one SQLite file both polled every contact and delivered every
    /// event twice. The second now exits 78 naming the first; the reading commands still work.
    @Test func aSecondDaemonOnTheSameSQLiteFileExits78AndTheReadingCommandsStillWork() async throws {
        try await withFakeAPIProcess(arguments: ["--contacts", "3", "--seed", "18"], apiKey: apiKey) { baseURL in
            let directory = try TemporaryDirectory()
            let lines = try await contactLines(baseURL, count: 3)
            let contactsFile = directory.file("contacts.txt", contents: lines.joined(separator: "\n"))
            let config = config(in: directory, baseURL: baseURL, contactsFile: contactsFile)
            let first = try DaemonProcess(arguments: ["--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(await first.waitForLog("np6-sync started"))
            let second = try await Binary.run(["run", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(second.status == 78, "stderr: \(second.stderr)")
            let database = directory.path("daemon.sqlite")
            #expect(
                second.stderr.contains(
                    "another np6-sync daemon (pid \(first.process.processIdentifier)) is already running on \(database)"
                ),
                "stderr: \(second.stderr)")
            for command in [["status"], ["events"], ["sinks", "status"], ["contacts", "list"]] {
                let output = try await Binary.run(command + ["--config", config])
                #expect(output.status == 0, "\(command): \(output.stderr)")
            }
            #expect(try await eventually { first.handles(SIGTERM) }, "the daemon traps SIGTERM")
            first.signal(SIGTERM)
            #expect(try #require(await first.waitForExit(timeout: 30)).status == 0, "stderr: \(first.stderr)")
            // Once it is gone (SIGKILL would do as well: the kernel drops the lock), another starts.
            let next = try DaemonProcess(arguments: ["--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(await next.waitForLog("np6-sync started"))
            #expect(try await eventually { next.handles(SIGTERM) }, "the daemon traps SIGTERM")
            next.signal(SIGTERM)
            #expect(try #require(await next.waitForExit(timeout: 30)).status == 0, "stderr: \(next.stderr)")
        }
    }

    @Test func refusedKeyExits78() async throws {
        try await withFakeAPIProcess(arguments: ["--contacts", "2"], apiKey: apiKey) { baseURL in
            let directory = try TemporaryDirectory()
            let lines = try await contactLines(baseURL, count: 2)
            let contactsFile = directory.file("contacts.txt", contents: lines.joined(separator: "\n"))
            let daemon = try DaemonProcess(
                arguments: ["--config", config(in: directory, baseURL: baseURL, contactsFile: contactsFile)],
                environment: ["NP6_API_KEY": "not-the-daemon-key"])
            let exit = try #require(await daemon.waitForExit(timeout: 60))
            #expect(exit.status == 78)
            #expect(daemon.stderr.contains("401"))
            #expect(!daemon.stderr.contains("not-the-daemon-key"))
        }
    }
}

/// How many stop-events requests the fake API has received (`GET /_fake/stats`).
func fakeRequestCount(_ baseURL: String) async throws -> Int {
    let stats = try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/stats")) as? [String: Any]
    return (stats?["total"] as? NSNumber)?.intValue ?? 0
}

/// Polls `condition` every 50 ms until it holds (`true`) or `timeout` passes (`false`): for
/// conditions that a busy machine reaches late, without a fixed sleep.
func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}
