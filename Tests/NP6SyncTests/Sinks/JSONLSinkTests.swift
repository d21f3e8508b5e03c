import Config
import Foundation
import InMemoryLogging
import Logging
import NP6Model
import SQLiteStore
import SyncStore
import Testing

@testable import NP6Sync
@testable import Sinks

extension SinkTests {
    @Suite(.timeLimit(.minutes(5))) struct JSONLSinkTests {
        @Test func appendsPrivateLinesAndEndsALineCutByACrash() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(3)
                let events = try await fixture.storedEvents()
                let path = fixture.path("out.jsonl")
                let sink = JSONLSink(name: "archive", configuration: JSONLSinkConfiguration(destination: .file(path)))
                try await sink.deliver(Array(events[0..<1]))
                let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
                #expect((permissions?.intValue ?? 0o777) & 0o077 == 0, "stop events are personal data")
                // A crash in the middle of the next write left half a record.
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(#"{"seq":2,"cont"#.utf8))
                try handle.close()
                try await sink.deliver(Array(events[1...]))
                let lines = try String(contentsOfFile: path, encoding: .utf8)
                    .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                let expected: [String] = [
                    events[0].recordJSON, #"{"seq":2,"cont"#, events[1].recordJSON, events[2].recordJSON, "",
                ]
                #expect(lines == expected)
            }
        }

        @Test func unwritablePathIsTransient() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                let sink = JSONLSink(
                    name: "archive",
                    configuration: JSONLSinkConfiguration(destination: .file(fixture.path("missing/dir/out.jsonl"))))
                await #expect {
                    try await sink.deliver(try await fixture.storedEvents())
                } throws: { error in
                    guard case .transient(let reason, _) = error as? SinkError else { return false }
                    return reason.contains("cannot open")
                }
            }
        }
    }
}
