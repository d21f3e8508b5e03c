import Config
import Foundation
import InMemoryLogging
import Logging
import NP6Client
import NP6Model
import SQLiteStore
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import NP6Sync
@testable import Sinks

/// A temporary directory with a database, and a logger whose records the test can read.
struct SinkFixture {
    let directory: URL
    let database: SQLiteEventStore
    let logs = InMemoryLogHandler()
    let contact = ContactReference(kind: .unicity, value: "jane+news@example.com")
    /// What the supervisors' loops wait and back off on: time passes only when a test moves it.
    let clock = ManualClock()

    var logger: Logger {
        var logger = Logger(label: "test", factory: { _ in logs })
        logger.logLevel = .trace
        return logger
    }

    /// Every logged record: level, message and metadata, one string each.
    var loggedLines: [String] {
        logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" }
    }

    /// Timing short enough for tests.
    static let fastPolicy = SinkDeliveryPolicy(
        pollInterval: .milliseconds(50), backoffBase: .milliseconds(20), backoffCap: .milliseconds(200),
        retryAfterCap: .seconds(2), drainAttempts: 3, drainMaxDelay: .seconds(2))

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Stores `count` new events for the fixture's contact; returns their ids in seq order.
    @discardableResult
    func storeEvents(_ count: Int, prefix: String = "ev") async throws -> [String] {
        _ = try await database.addContacts([contact], now: WallClock.nowMs())
        let contactID = try #require(try await database.contact(contact)).id
        let batch = UUID().uuidString.prefix(8).lowercased()
        let ids = (0..<count).map { "\(prefix)-\(batch)-\($0)" }
        let events = ids.enumerated().map { index, id in
            // Payloads with spacing and escapes that a re-serialisation would change.
            let json =
                #"{"type": "stop", "id": "\#(id)", "timestamp": \#(1_700_000_000_000 + index), "note": "caf\u00e9 \"\#(index)\""}"#
            return StopEvent(
                id: id, timestampMs: 1_700_000_000_000 + Int64(index), type: "stop", identityType: nil, sourceType: nil,
                payload: Array(json.utf8))
        }
        _ = try await database.write(
            .batch(
                contact: PollTarget(id: contactID, generation: 0), events: events, malformed: [], checkpoint: nil,
                now: WallClock.nowMs()))
        return ids
    }

    /// Every stored event, in seq order.
    func storedEvents() async throws -> [StoredEvent] {
        let events = Mutex<[StoredEvent]>([])
        try await database.forEachEvent { event in events.withLock { $0.append(event) } }
        return events.withLock { $0 }
    }

    func supervisor(
        _ sinks: [SinkConfiguration],
        registry: SinkRegistry = .builtIn,
        policy: SinkDeliveryPolicy = SinkFixture.fastPolicy
    ) -> SinkSupervisor {
        SinkSupervisor(
            database: database, sinks: sinks, logger: logger, policy: policy, registry: registry, clock: clock)
    }
}

func withSinkFixture<T>(_ body: (SinkFixture) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-sinks-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let database = try SQLiteEventStore.open(path: directory.appendingPathComponent("sync.sqlite").path)
    return try await body(SinkFixture(directory: directory, database: database))
}

/// Waits until `condition` holds, looking again each time `changes` is signalled (never on a
/// timer); records an issue after `timeout` of real time.
///
/// `changes` is what the code under test signals as it moves on: a manual clock's (its loops
/// sleep on it after each step), a receiver's, the daemon's turns (``DaemonTests``), the
/// database's commits (``SQLiteEventStore/commits()``).
func eventually(
    timeout: Duration = .seconds(60),
    _ what: String,
    on changes: StateChanges,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    do {
        try await changes.wait(timeout: timeout, until: condition)
    } catch is StateChanges.Timeout {
        Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
    }
}

/// A sink that records what it is given and fails as scripted: the shared fake for loop and
/// supervisor tests.
final class RecordingSink: EventSink {
    let name: String
    /// The error for the n-th call (0-based) and its batch; `nil` acknowledges.
    typealias Script = @Sendable (Int, [StoredEvent]) -> SinkError?

    private struct State {
        var calls = 0
        var delivered: [StoredEvent] = []
        var script: Script
    }

    private let state: Mutex<State>

    init(name: String, script: @escaping Script = { _, _ in nil }) {
        self.name = name
        self.state = Mutex(State(script: script))
    }

    /// A sink that rejects for good every batch holding one of `ids`.
    static func rejecting(_ ids: Set<String>, name: String) -> RecordingSink {
        RecordingSink(name: name) { _, batch in
            batch.contains { ids.contains($0.id) } ? .permanent(reason: "HTTP 422: unknown contact") : nil
        }
    }

    var delivered: [StoredEvent] { state.withLock { $0.delivered } }
    var calls: Int { state.withLock { $0.calls } }

    func script(_ script: @escaping Script) { state.withLock { $0.script = script } }

    func deliver(_ batch: [StoredEvent]) async throws {
        let error = state.withLock { state -> SinkError? in
            defer { state.calls += 1 }
            let error = state.script(state.calls, batch)
            if error == nil { state.delivered += batch }
            return error
        }
        if let error { throw error }
    }
}

extension SinkRegistry {
    /// Builds each sink as the given instance, by name.
    static func fixed(_ sinks: [any EventSink]) -> SinkRegistry {
        SinkRegistry { configuration, _ in
            guard let sink = sinks.first(where: { $0.name == configuration.name }) else {
                throw SinkError.refused(reason: "no test sink named \(configuration.name)")
            }
            return sink
        }
    }
}

extension SinkConfiguration {
    /// A configuration for a test sink built by ``SinkRegistry/fixed(_:)``; the kind is unused.
    static func test(
        _ name: String, batchSize: Int = 5, from: StartPosition = .beginning, deadLetter: Bool = false
    )
        -> SinkConfiguration
    {
        SinkConfiguration(
            name: name, kind: .jsonl(JSONLSinkConfiguration(destination: .file("/nonexistent/\(name)"))),
            batchSize: batchSize, from: from, deadLetter: deadLetter)
    }
}
