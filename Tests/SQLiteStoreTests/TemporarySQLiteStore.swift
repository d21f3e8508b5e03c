import Foundation
import StoreTestSupport

@testable import SQLiteStore

/// A SQLite store in a fresh temporary directory, removed after the test.
func withTemporarySQLiteStore<T>(_ body: (SQLiteEventStore) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        try await body(SQLiteEventStore.open(path: directory.appendingPathComponent("test.sqlite").path))
    }
}
