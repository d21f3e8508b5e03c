import Foundation
import GRDB
import Testing

/// A tiny file system mounted for one test (needs root and CAP_SYS_ADMIN, which CI has).
final class TinyFileSystem {
    let path: String

    static var available: Bool {
        guard let probe = try? TinyFileSystem(kilobytes: 64) else { return false }
        probe.unmount()
        return true
    }

    init(kilobytes: Int) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("np6-tinyfs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", path]) == 0 else {
            throw FakeProcessError(message: "cannot mount a tmpfs at \(path)")
        }
    }

    func remountReadOnly() -> Bool { Self.run("/bin/mount", ["-o", "remount,ro", path]) == 0 }

    /// Makes room: the file system grows to `kilobytes`, its files untouched.
    func grow(toKilobytes kilobytes: Int) -> Bool {
        Self.run("/bin/mount", ["-o", "remount,size=\(kilobytes)k", path]) == 0
    }

    func unmount() {
        _ = Self.run("/bin/umount", [path])
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { unmount() }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

@Suite(
    .enabled(if: TinyFileSystem.available, "mounting a tmpfs needs root with CAP_SYS_ADMIN"), .timeLimit(.minutes(10)))
struct BadEnvironmentTests {
    let apiKey = "env-key-91d0b3c7e5f2a846"

    func writeConfig(_ directory: TemporaryDirectory, baseURL: String, database: String, contacts: [String]) -> String {
        let list = contacts.map { #"{"id": "\#($0)"}"# }.joined(separator: ",")
        return directory.file(
            "config.json",
            contents: """
                {"api": {"baseURL": "\(baseURL)", "requestsPerSecond": 200}, "database": {"path": "\(database)"},
                 "contacts": [\(list)]}
                """)
    }

    func contactIDs(_ baseURL: String) async throws -> [String] {
        let contacts =
            try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
            as! [[String: String]]
        return contacts.map { $0["id"]! }
    }

    @Test func fullDiskGivesAClearErrorAndNoCorruption() async throws {
        try await withFakeAPIProcess(
            arguments: ["--contacts", "20", "--events-per-contact", "150-200"], apiKey: apiKey
        ) { baseURL in
            let disk = try TinyFileSystem(kilobytes: 320)
            let directory = try TemporaryDirectory()
            let database = disk.path + "/full.sqlite"
            let config = writeConfig(
                directory, baseURL: baseURL, database: database, contacts: try await contactIDs(baseURL))
            let result = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(result.status == 1, "stdout: \(result.stdout) stderr: \(result.stderr)")
            #expect(result.stderr.contains("full"), "the error says the disk is full: \(result.stderr)")

            // What is stored is sound, and no watermark passed an event that is not stored.
            let queue = try DatabaseQueue(
                path: database,
                configuration: {
                    var c = Configuration()
                    c.readonly = true
                    return c
                }())
            let (integrity, stored, watermarks) = try await queue.read { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                    Set(try String.fetchAll(db, sql: "SELECT id FROM events")),
                    try Row.fetchAll(db, sql: "SELECT value, watermark_ms FROM contacts WHERE watermark_ms IS NOT NULL")
                )
            }
            #expect(integrity == "ok")
            let published =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/events")) as! [[String: Any]]
            for row in watermarks {
                let contact: String = row[0]
                let watermark: Int64 = row[1]
                for entry in published where entry["contact"] as? String == contact {
                    let event = entry["event"] as! [String: Any]
                    if (event["timestamp"] as! NSNumber).int64Value < watermark {
                        #expect(stored.contains(event["id"] as! String))
                    }
                }
            }
        }
    }

    @Test func daemonOnAFullDiskKeepsRunningAndCatchesUpOnceThereIsRoom() async throws {
        try await withFakeAPIProcess(
            arguments: ["--contacts", "20", "--events-per-contact", "150-200"], apiKey: apiKey
        ) { baseURL in
            let disk = try TinyFileSystem(kilobytes: 320)
            let directory = try TemporaryDirectory()
            let database = disk.path + "/full.sqlite"
            let config = writeConfig(
                directory, baseURL: baseURL, database: database, contacts: try await contactIDs(baseURL))
            let daemon = try DaemonProcess(arguments: ["--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(await daemon.waitForLog("The database refuses the daemon", timeout: 60), "\(daemon.stderr)")
            #expect(daemon.stderr.contains("db.error.code=full"), "\(daemon.stderr)")
            #expect(daemon.process.isRunning, "a full disk does not stop the daemon")

            try #require(disk.grow(toKilobytes: 16384))
            #expect(await daemon.waitForLog("The database answers again", timeout: 90), "\(daemon.stderr)")
            let published =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/events")) as! [[String: Any]]
            let expected = Set(published.map { ($0["event"] as! [String: Any])["id"] as! String })
            // Every contact catches up by itself (failed polls were backed off in memory).
            let queue = try DatabaseQueue(path: database)
            var stored: [String] = []
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline, daemon.process.isRunning {
                stored = try await queue.read { db in try String.fetchAll(db, sql: "SELECT id FROM events") }
                if Set(stored) == expected { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(Set(stored) == expected, "\(expected.count - Set(stored).count) events missing")
            #expect(stored.count == Set(stored).count, "stored once each")
            daemon.signal(SIGTERM)
            #expect(await daemon.waitForExit(timeout: 15)?.status == 0, "\(daemon.stderr)")
            let integrity = try await queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
            #expect(integrity == "ok")
        }
    }

    @Test func readOnlyDatabaseGivesAClearErrorAndStaysIntact() async throws {
        try await withFakeAPIProcess(arguments: ["--contacts", "4", "--events-per-contact", "2-4"], apiKey: apiKey) {
            baseURL in
            let disk = try TinyFileSystem(kilobytes: 4096)
            let directory = try TemporaryDirectory()
            let database = disk.path + "/ro.sqlite"
            let config = writeConfig(
                directory, baseURL: baseURL, database: database, contacts: try await contactIDs(baseURL))
            #expect(
                try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey]).status == 0)
            let before = try Data(contentsOf: URL(fileURLWithPath: database))
            try #require(disk.remountReadOnly())

            let result = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(result.status == 1)
            #expect(
                result.stderr.lowercased().contains("read-only") || result.stderr.lowercased().contains("readonly"),
                "stderr: \(result.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == before)
        }
    }
}

/// Real I/O errors without root: RLIMIT_FSIZE makes the daemon's writes past a size fail with
/// EFBIG, which SQLite reports as SQLITE_IOERR_WRITE (or SQLITE_FULL for a short write).
@Suite(
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "needs prlimit (util-linux)"),
    .timeLimit(.minutes(10)))
struct FileSizeLimitTests {
    let apiKey = "fsize-key-5e81c0d9a2b7f364"

    @Test func daemonPastItsFileSizeLimitKeepsRunningAndCatchesUpOnceLifted() async throws {
        try await withFakeAPIProcess(
            arguments: ["--contacts", "20", "--events-per-contact", "150-200"], apiKey: apiKey
        ) { baseURL in
            let directory = try TemporaryDirectory()
            let database = directory.path("limited.sqlite")
            let contacts =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
                as! [[String: String]]
            let list = contacts.map { #"{"id": "\#($0["id"]!)"}"# }.joined(separator: ",")
            let config = directory.file(
                "config.json",
                contents: """
                    {"api": {"baseURL": "\(baseURL)", "requestsPerSecond": 200}, "database": {"path": "\(database)"},
                     "contacts": [\(list)]}
                    """)
            let daemon = try DaemonProcess(
                arguments: ["--config", config], environment: ["NP6_API_KEY": apiKey], fileSizeLimit: 400_000)
            #expect(await daemon.waitForLog("The database refuses the daemon", timeout: 60), "\(daemon.stderr)")
            #expect(daemon.stderr.contains("db.error.code=ioerr"), "\(daemon.stderr)")

            try #require(daemon.raiseFileSizeLimit())
            #expect(await daemon.waitForLog("The database answers again", timeout: 90), "\(daemon.stderr)")
            let published =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/events")) as! [[String: Any]]
            let expected = Set(published.map { ($0["event"] as! [String: Any])["id"] as! String })
            let queue = try DatabaseQueue(path: database)
            var stored: [String] = []
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline, daemon.process.isRunning {
                stored = try await queue.read { db in try String.fetchAll(db, sql: "SELECT id FROM events") }
                if Set(stored) == expected { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(Set(stored) == expected, "\(expected.count - Set(stored).count) events missing")
            #expect(stored.count == Set(stored).count, "stored once each")
            daemon.signal(SIGTERM)
            #expect(await daemon.waitForExit(timeout: 15)?.status == 0, "\(daemon.stderr)")
            let integrity = try await queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
            #expect(integrity == "ok")
        }
    }
}
