import AsyncHTTPClient
import Config
import Foundation
import InMemoryLogging
import Logging
import NIOCore
import NIOHTTP1
import NP6Client
import NP6Fake
import NP6Model
import SQLiteStore
import ServiceLifecycle
import ServiceLifecycleTestKit
import Sinks
import StoreTestSupport
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import NP6Sync

/// The daemon as `np6-sync run` builds it, in-process against the fake API, shut down gracefully.
@Suite(.timeLimit(.minutes(5))) struct DaemonTests {
    let apiKey = "daemon-secret-key-4c1f9e07b2d8a653"

    /// Builds a daemon on a temporary database for every fake contact, runs `body` while it runs,
    /// then shuts it down gracefully and returns what `body` returned.
    ///
    /// - Parameter progress: signalled after each of the daemon's polls and loop turns (at
    ///   least every second) and once its metrics endpoint listens: `body` waits on it.
    func withDaemon<T: Sendable>(
        progress: StateChanges = StateChanges(),
        environment: [String: String] = [:],
        metrics: Bool = false,
        sinks: String = "[]",
        knobs: FakeNP6Knobs = FakeNP6Knobs(),
        logs: InMemoryLogHandler = InMemoryLogHandler(),
        baseURLPath: String = "",
        reloadedBaseURLPath: (@Sendable () -> String)? = nil,
        _ body:
            @escaping @Sendable (Daemon, FakeNP6Handle, _ metricsPort: @escaping @Sendable () async -> Int?)
            async throws -> T
    ) async throws -> T {
        var fake = FakeNP6Configuration(contactCount: 9, eventsPerContact: 1...5)
        fake.apiKey = apiKey
        fake.knobs = knobs
        return try await withFakeNP6API(configuration: fake) { api in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "np6-daemon-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let contacts = await api.state.contacts.map { #"{"id": "\#($0.id)"}"# }.joined(separator: ",")
            var configuration = try SyncConfiguration.parse(
                """
                {"api": {"baseURL": "\(api.baseURL)\(baseURLPath)", "requestsPerSecond": 100},
                 "database": {"path": "\(directory.appendingPathComponent("d.sqlite").path)"},
                 "schedule": {"intervalSeconds": 1, "jitterSeconds": 0}, "contacts": [\(contacts)], "sinks": \(sinks)}
                """, environment: [:])
            // Port 0 (any free port) is for tests only: the config file requires a real port.
            if metrics { configuration.metrics = MetricsConfiguration(host: "127.0.0.1", port: 0) }
            var daemon = try await Daemon.make(
                configuration: configuration, apiKey: APIKey(unredactedValue: apiKey), environment: environment,
                logger: Logger(label: "daemon", factory: { _ in logs }), openStore: openTestStore,
                reloadConfiguration: { [configuration] in
                    var reloaded = configuration
                    if let reloadedBaseURLPath { reloaded.api.baseURL = api.baseURL + reloadedBaseURLPath() }
                    return reloaded
                })
            let port = Mutex<Int?>(nil)
            daemon.onMetricsReady = { bound in
                port.withLock { $0 = bound }
                progress.signal()
            }
            daemon.onProgress = { progress.signal() }
            let running = daemon
            return try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask {
                        try await running.run()
                        return nil
                    }
                    let result = try await body(running, api) { port.withLock { $0 } }
                    trigger.triggerGracefulShutdown()
                    for try await _ in group {}
                    return result
                }
            }
        }
    }

    @Test func systemdHearsReadyStatusWatchdogAndStopping() async throws {
        let listener = try NotifySocketListener.bound()
        let environment = ["NOTIFY_SOCKET": listener.notifySocket, "WATCHDOG_USEC": "400000"]
        let stopping = try await withDaemon(environment: environment) { _, _, _ in
            #expect(try await listener.next() == "READY=1")
            var messages: [String] = []
            while !(messages.contains { $0.hasPrefix("STATUS=") } && messages.contains("WATCHDOG=1")) {
                messages.append(try await listener.next())
            }
            let status = try #require(messages.first { $0.hasPrefix("STATUS=") })
            #expect(status.contains("9 contacts"))
            #expect(status.contains("failing"))
            // Keep reading while the daemon shuts down: a full socket queue would drop STOPPING=1
            // (the notifier never blocks the daemon).
            return Task {
                var last = ""
                while last != "STOPPING=1" { last = try await listener.next() }
            }
        }
        try await stopping.value
    }

    @Test func aFailedAPICheckAtStartIsLoggedAndTheDaemonSyncsOn() async throws {
        let logs = InMemoryLogHandler()
        let progress = StateChanges()
        try await withDaemon(progress: progress, knobs: FakeNP6Knobs(endInclusive: true), logs: logs) {
            daemon, api, _ in
            try await eventually(timeout: .seconds(60), "the failed check is logged", on: progress) {
                logs.entries.contains {
                    $0.level == .error && $0.message == "An assumption about the API does not hold"
                }
            }
            let logged = try #require(
                logs.entries.first { $0.message == "An assumption about the API does not hold" })
            #expect("\(logged.metadata["assumption"] ?? "")".hasPrefix("end is exclusive"))
            let expected = Set(await api.state.allEvents().map(\.id))
            try await eventually(timeout: .seconds(60), "every event is stored all the same", on: progress) {
                (try? await daemon.runtime.database.eventIDs()) == expected
            }
        }
    }

    @Test func metricsMoveAfterASyncAndNeverShowTheKey() async throws {
        let logs = InMemoryLogHandler()
        let progress = StateChanges()
        let scraped = try await withDaemon(progress: progress, metrics: true, logs: logs) { daemon, api, metricsPort in
            let expected = await api.state.allEvents().count
            try await eventually(timeout: .seconds(60), "every event is stored", on: progress) {
                (try? await daemon.runtime.database.eventIDs().count) == expected
            }
            // A poll's events are counted once its writes are committed, a moment after they
            // are visible in the database: wait for that moment before scraping.
            try await eventually(timeout: .seconds(60), "every stored event is counted", on: progress) {
                daemon.metrics.exposition().contains(#"np6sync_events_total{result="new"} \#(expected)"#)
            }
            let port = try #require(await metricsPort())
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(60))
            #expect(response.status == .ok)
            // Nor is the key in the database or its WAL.
            for suffix in ["", "-wal"] {
                let bytes =
                    (try? Data(contentsOf: URL(fileURLWithPath: daemon.runtime.database.location + suffix))) ?? Data()
                #expect(bytes.range(of: Data(apiKey.utf8)) == nil)
            }
            return String(buffer: try await response.body.collect(upTo: 1 << 20))
        }
        #expect(scraped.contains(#"np6sync_polls_total{outcome="ok"}"#))
        let newEvents = scraped.split(separator: "\n").first { $0.hasPrefix(#"np6sync_events_total{result="new"}"#) }
        #expect(Double(newEvents?.split(separator: " ").last ?? "0") ?? 0 > 0, "\(scraped)")
        #expect(scraped.contains("np6sync_request_duration_seconds_bucket"))
        #expect(!scraped.contains(apiKey))
        #expect(!logs.entries.contains { "\($0.message) \($0.metadata)".contains(apiKey) })
    }

    @Test func keyAndWebhookSecretAppearNowhere() async throws {
        let secret = "webhook-secret-e83b5d0c17fa9246"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "np6-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let secretFile = directory.appendingPathComponent("secret").path
        let jsonl = directory.appendingPathComponent("events.jsonl").path
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: secretFile))
        let logs = InMemoryLogHandler()
        try await withWebhookReceiver(secret: secret) { receiver in
            let sinks = """
                [{"name": "file", "type": "jsonl", "path": "\(jsonl)"},
                 {"name": "hook", "type": "webhook", "url": "\(receiver.url)", "secretFile": "\(secretFile)"}]
                """
            let progress = StateChanges()
            let scraped = try await withDaemon(progress: progress, metrics: true, sinks: sinks, logs: logs) {
                daemon, api, metricsPort in
                let expected = await api.state.allEvents().count
                try await eventually(timeout: .seconds(60), "the webhook received every event", on: progress) {
                    receiver.accepted.flatMap(\.ids).count >= expected
                }
                for suffix in ["", "-wal"] {
                    let bytes =
                        (try? Data(contentsOf: URL(fileURLWithPath: daemon.runtime.database.location + suffix)))
                        ?? Data()
                    #expect(bytes.range(of: Data(secret.utf8)) == nil && bytes.range(of: Data(apiKey.utf8)) == nil)
                }
                let port = try #require(await metricsPort())
                let response = try await HTTPClient.shared.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(60))
                return String(buffer: try await response.body.collect(upTo: 1 << 20))
            }
            #expect(receiver.requests.allSatisfy { $0.signatureIsValid == true }, "every delivery is signed")
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0 != "secret" }.map { directory.appendingPathComponent($0).path }
            for haystack in [scraped] + logs.entries.map({ "\($0.message) \($0.metadata)" }) {
                #expect(!haystack.contains(apiKey) && !haystack.contains(secret))
            }
            for file in files {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(
                    bytes.range(of: Data(apiKey.utf8)) == nil && bytes.range(of: Data(secret.utf8)) == nil, "\(file)")
            }
            #expect(try String(contentsOfFile: jsonl, encoding: .utf8).split(separator: "\n").count > 0)
        }
    }

    @Test func wrongBaseURLMarksNoContactNotFoundAndAReloadThatFixesItSyncsEverything() async throws {
        let logs = InMemoryLogHandler()
        let path = Mutex("/np6")
        let reloadedPath: @Sendable () -> String = { path.withLock { $0 } }
        let progress = StateChanges()
        try await withDaemon(progress: progress, logs: logs, baseURLPath: "/np6", reloadedBaseURLPath: reloadedPath) {
            daemon, api, _ in
            try await eventually(timeout: .seconds(60), "the misconfiguration is logged", on: progress) {
                logs.entries.contains { $0.level == .error && "\($0.message)".contains("api.baseURL") }
            }
            let database = daemon.runtime.database
            let error = try #require(
                logs.entries.first { $0.level == .error && "\($0.message)".contains("api.baseURL") })
            #expect("\(error.metadata)".contains(api.baseURL + "/np6/targets/events/responses/stop?"))
            // Requests stop for the interval (1 s here) instead of hammering the wrong URL.
            let requests = await api.state.statusCounts[404] ?? 0
            #expect(requests < 30)
            let contacts = try await database.contacts(limit: 100, enabledOnly: true)
            #expect(contacts.allSatisfy { $0.lastStatus == nil }, "no contact marked not_found")
            // A contact parked as not_found before (by an earlier run) is asked again after the fix.
            let parked = try #require(contacts.first)
            try await database.write(
                .failure(
                    contact: parked.pollTarget, status: .notFound, error: "HTTP 404",
                    nextDueMs: WallClock.nowMs() + 86_400_000,
                    now: WallClock.nowMs()))

            path.withLock { $0 = "" }
            await daemon.reload()
            let expected = await api.state.allEvents().count
            try await eventually(timeout: .seconds(60), "every event is stored once the URL is right", on: progress) {
                (try? await database.eventIDs().count) == expected
            }
            // A poll in flight across the reload stores its events but leaves the row to the
            // recheck (which bumped the generation); the next poll marks it ok.
            try await eventually(timeout: .seconds(60), "the parked contact is polled again", on: progress) {
                (try? await database.contact(parked.reference)?.lastStatus) == .ok
            }
        }
    }
}
