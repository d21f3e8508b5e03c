import Config
import Foundation
import InMemoryLogging
import Logging
import NP6Client
import NP6Fake
import NP6Model
import Sinks
import SyncStore

@testable import NP6Sync
@testable import SQLiteStore

/// A fake NP6 API on loopback, a temporary database file and a client between them.
struct SyncFixture {
    let api: FakeNP6Handle
    let database: SQLiteEventStore
    let client: NP6Client
    var windows = WindowPolicy()
    var batchSize: Int
    /// Records what the engine logs, so tests can check it (and keep it off the test output).
    let logs = InMemoryLogHandler()
    var logger: Logger { Logger(label: "test", factory: { _ in logs }) }

    /// Every logged line's message and metadata, as one string per record.
    var loggedLines: [String] {
        logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" }
    }

    /// A pass; with `maxAttempts` above 1 it tries again at once (no retry delay).
    func pass(maxConcurrentRequests: Int = 4, maxAttempts: Int = 1) -> SyncPass {
        var pass = SyncPass(
            poller: ContactPoller(
                client: client, database: database, windows: windows, schedule: SchedulePolicy(),
                pacer: RequestPacer(requestsPerSecond: 1_000, wallNowMs: WallClock.nowMs), wallNowMs: WallClock.nowMs),
            maxConcurrentRequests: maxConcurrentRequests, maxAttempts: maxAttempts)
        pass.retryDelay = .zero
        return pass
    }

    /// Adds every fake contact, each named by `kind(index)`.
    @discardableResult
    func addFakeContacts(
        kind: (Int) -> ContactKind = { ContactKind.allCases[$0 % 3] }
    ) async throws -> [ContactReference] {
        let references = await api.state.contacts.enumerated().map { index, contact in
            Self.reference(contact, kind(index))
        }
        _ = try await database.addContacts(references, now: WallClock.nowMs())
        return references
    }

    static func reference(_ contact: FakeContact, _ kind: ContactKind) -> ContactReference {
        switch kind {
        case .id: ContactReference(kind: .id, value: contact.id)
        case .unicity: ContactReference(kind: .unicity, value: contact.unicity)
        case .hash: ContactReference(kind: .hash, value: contact.hash)
        }
    }

    /// The ids of every event the fake has published so far.
    func fakeEventIDs() async -> Set<String> {
        Set(await api.state.allEvents().map(\.id))
    }

    func storedEventCount() async throws -> Int {
        try await database.status(now: WallClock.nowMs()).events
    }
}

func withSyncFixture<T: Sendable>(
    fake: FakeNP6Configuration = FakeNP6Configuration(contactCount: 12, eventsPerContact: 0...6),
    apiKey: String? = nil,
    batchSize: Int = 500,
    timeoutSeconds: Int = 20,
    busyTimeout: Duration = .seconds(10),
    _ body: (SyncFixture) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-sync-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await withFakeNP6API(configuration: fake) { api in
        let database = try SQLiteEventStore.open(
            path: directory.appendingPathComponent("sync.sqlite").path, busyTimeout: busyTimeout)
        let client = NP6Client(
            configuration: NP6ClientConfiguration(
                baseURL: api.baseURL, apiKey: apiKey ?? fake.apiKey, timeoutSeconds: timeoutSeconds,
                batchSize: batchSize),
            now: WallClock.nowMs)
        do {
            let result = try await body(SyncFixture(api: api, database: database, client: client, batchSize: batchSize))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// How the tests open a configuration's store: the SQLite file at `database.path`, as the CLI does.
@Sendable func openTestStore(_ configuration: DatabaseConfiguration) async throws -> any EventStore {
    try SQLiteEventStore.open(path: configuration.path)
}
