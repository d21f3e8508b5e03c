import Foundation
import NP6Model
import SQLiteStore
import SyncStore
import Testing

/// Every `EventStore` implementation; each contract test runs once per case.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite

    var testDescription: String { rawValue }

    /// The schema version a new store of this kind has.
    var currentSchemaVersion: Int {
        switch self {
        case .sqlite: 2
        }
    }

    /// A new, empty store, removed after `body`.
    func withStore<T>(_ body: (any EventStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "np6-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            return try await body(SQLiteEventStore.open(path: directory.appendingPathComponent("test.sqlite").path))
        }
    }
}

/// A stop event with the API's shape, stamped `timestampMs`.
func event(_ id: String, at timestampMs: Int64) -> StopEvent {
    let json =
        #"{"type":"stop","id":"\#(id)","timestamp":\#(timestampMs),"identity":{"type":"customer"},"source":{"type":"email"}}"#
    return StopEvent(
        id: id, timestampMs: timestampMs, type: "stop", identityType: "customer", sourceType: "email",
        payload: Array(json.utf8))
}
