import Foundation
import NP6Model

/// A fresh temporary directory for `body`, removed after it.
public func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// A stop event with the API's shape, stamped `timestampMs`.
public func event(_ id: String, at timestampMs: Int64) -> StopEvent {
    let json =
        #"{"type":"stop","id":"\#(id)","timestamp":\#(timestampMs),"identity":{"type":"customer"},"source":{"type":"email"}}"#
    return StopEvent(
        id: id, timestampMs: timestampMs, type: "stop", identityType: "customer", sourceType: "email",
        payload: Array(json.utf8))
}
