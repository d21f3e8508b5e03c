import Foundation
import NP6Model
import PostgresStore
import SQLiteStore
import StoreTestSupport
import SyncStore
import Testing

/// A store that several daemons share.
typealias SharedStore = EventStore & LeaseStore

/// Every `EventStore` implementation; each contract test runs once per case.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    /// SQLite always; PostgreSQL when `NP6_TEST_POSTGRES_URL` names a server, and always under
    /// `CI=true`, where a missing server fails every PostgreSQL case instead of skipping it.
    static var allCases: [StoreKind] {
        PostgresTestServer.isEnabled ? [.sqlite, .postgres] : [.sqlite]
    }

    var testDescription: String { rawValue }

    /// The kinds whose stores several daemons share (they adopt ``LeaseStore``): the lease
    /// contract suites run on these.
    static var sharedCases: [StoreKind] { allCases.filter { $0 == .postgres } }

    /// Two stores of a shared kind open on one new database, as two daemons on two machines see
    /// it; removed after `body`.
    func withTwoSharedStores<T>(_ body: (any SharedStore, any SharedStore) async throws -> T) async throws -> T {
        try await withStores(2) { stores in
            let shared = stores.compactMap { $0 as? any SharedStore }
            guard shared.count == 2 else { throw NotShared(kind: self) }
            return try await body(shared[0], shared[1])
        }
    }

    struct NotShared: Error, CustomStringConvertible {
        var kind: StoreKind
        var description: String { "a \(kind) store adopts no LeaseStore" }
    }

    /// `count` stores open on one new database, each with its own connections (pool), as that
    /// many daemons see it; removed after `body`.
    func withStores<T>(_ count: Int, _ body: ([any EventStore]) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            try await withTemporaryDirectory { directory in
                let path = directory.appendingPathComponent("test.sqlite").path
                return try await body((0..<count).map { _ in try SQLiteEventStore.open(path: path) })
            }
        case .postgres:
            try await PostgresTestServer.configured().withTemporaryDatabase { endpoint in
                let password = try PostgresTestServer.configured().password
                var stores: [PostgresEventStore] = []
                do {
                    for _ in 0..<count {
                        stores.append(try await PostgresEventStore.open(endpoint, password: password))
                    }
                    let result = try await body(stores)
                    for store in stores { await store.close() }
                    return result
                } catch {
                    for store in stores { await store.close() }
                    throw error
                }
            }
        }
    }

    /// A new, empty store, removed after `body`.
    func withStore<T>(_ body: (any EventStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            try await withTemporaryDirectory { directory in
                try await body(SQLiteEventStore.open(path: directory.appendingPathComponent("test.sqlite").path))
            }
        case .postgres:
            try await PostgresTestServer.configured().withTemporaryStore { store in try await body(store) }
        }
    }
}
