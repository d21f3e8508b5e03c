import Foundation
import NP6Model
import PostgresStore
import SQLiteStore
import StoreTestSupport
import SyncStore
import Testing

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

    /// The schema version a new store of this kind has.
    var currentSchemaVersion: Int {
        switch self {
        case .sqlite: 4
        case .postgres: 7  // 4, the lease columns, `instances` (5), the sink leases (6), the rate-limit pause (7)
        }
    }

    /// Whether several daemons share the store's contacts by lease (PostgreSQL); SQLite is used
    /// by one process and claims without leases.
    var sharesContactsByLease: Bool { self == .postgres }

    /// Two stores open on one new database, as two daemons on two machines see it; removed after `body`.
    func withTwoStores<T>(_ body: (any EventStore, any EventStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            try await withTemporaryDirectory { directory in
                let path = directory.appendingPathComponent("test.sqlite").path
                return try await body(SQLiteEventStore.open(path: path), SQLiteEventStore.open(path: path))
            }
        case .postgres:
            try await PostgresTestServer.configured().withTemporaryDatabase { endpoint in
                let password = try PostgresTestServer.configured().password
                let first = try await PostgresEventStore.open(endpoint, password: password)
                let second: PostgresEventStore
                do {
                    second = try await PostgresEventStore.open(endpoint, password: password)
                } catch {
                    await first.close()
                    throw error
                }
                do {
                    let result = try await body(first, second)
                    await first.close()
                    await second.close()
                    return result
                } catch {
                    await first.close()
                    await second.close()
                    throw error
                }
            }
        }
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
