import Foundation
import Testing

@testable import Config

// What the configuration suites share.

/// A key no message may ever contain.
let distinctiveKey = "np6k3y-ZX81-7QW2-TOPSECRET"

/// The issues `json` yields, one `path: message` string each; fails when it loads.
func issues(_ json: String, environment: [String: String] = [:]) throws -> [String] {
    let error = try #require(throws: ConfigurationError.self) {
        try SyncConfiguration.parse(json, environment: environment)
    }
    return error.issues.map(\.description)
}

func write(_ text: String, to path: String) throws {
    try text.write(toFile: path, atomically: false, encoding: .utf8)
}

/// Runs `body` with a fresh directory that is removed afterwards.
func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("np6-sync-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try body(directory)
}
