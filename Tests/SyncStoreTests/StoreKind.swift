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
        case .sqlite, .postgres: 4
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
