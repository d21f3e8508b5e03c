import Config
import Foundation
import InMemoryLogging
import Logging
import NP6Model
import SQLiteStore
import ServiceLifecycleTestKit
import SyncStore
import TestClocks
import Testing

@testable import NP6Sync
@testable import Sinks

/// The built-in sink types, each real: a file, a webhook receiver on loopback, a child process.
enum SinkUnderTest: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case jsonl, webhook, command

    var testDescription: String { rawValue }

    /// A sink of this type in `fixture`, and a reader of what its receiver got: the event seqs
    /// in arrival order and whether every record arrived byte for byte as `recordJSON`.
    func withSink<T: Sendable>(
        in fixture: SinkFixture,
        batchSize: Int,
        from: SinkConfiguration.StartPosition = .beginning,
        _ body: (SinkConfiguration, _ received: @escaping () async throws -> (seqs: [Int64], verbatim: Bool))
            async throws -> T
    ) async throws -> T {
        let file = fixture.path("\(rawValue)-out.jsonl")
        let readLines = { () async throws -> (seqs: [Int64], verbatim: Bool) in
            guard FileManager.default.fileExists(atPath: file) else { return ([], true) }
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
            let stored = Dictionary(uniqueKeysWithValues: try await fixture.storedEvents().map { ($0.seq, $0) })
            let seqs = lines.map { line in
                (((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["seq"] as? NSNumber)?
                    .int64Value ?? -1
            }
            let verbatim = zip(lines, seqs).allSatisfy { line, seq in stored[seq]?.recordJSON == line }
            return (seqs, verbatim)
        }
        switch self {
        case .jsonl:
            let configuration = SinkConfiguration(
                name: "archive", kind: .jsonl(JSONLSinkConfiguration(destination: .file(file))), batchSize: batchSize,
                from: from)
            return try await body(configuration, readLines)
        case .command:
            // argv is not run through a shell: the shell here is the program, and $0 its argument.
            let configuration = SinkConfiguration(
                name: "suppression-list",
                kind: .command(
                    CommandSinkConfiguration(arguments: ["/bin/sh", "-c", #"cat >> "$0""#, file], timeoutSeconds: 10)),
                batchSize: batchSize, from: from)
            return try await body(configuration, readLines)
        case .webhook:
            return try await withWebhookReceiver { receiver in
                let configuration = SinkConfiguration(
                    name: "crm", kind: .webhook(WebhookSinkConfiguration(url: receiver.url, timeoutSeconds: 30)),
                    batchSize: batchSize, from: from)
                return try await body(configuration) {
                    let stored = Dictionary(uniqueKeysWithValues: try await fixture.storedEvents().map { ($0.seq, $0) })
                    let verbatim = receiver.accepted.allSatisfy { request in
                        request.body == WebhookSink.body(request.seqs.compactMap { stored[$0] })
                    }
                    return (receiver.acceptedSeqs, verbatim)
                }
            }
        }
    }
}

extension SinkTests {
    @Suite(.timeLimit(.minutes(5))) struct SinkContractTests {
        @Test(arguments: SinkUnderTest.allCases)
        func deliversEveryEventOnceInSeqOrder(sink: SinkUnderTest) async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(23)
                try await sink.withSink(in: fixture, batchSize: 5) { configuration, received in
                    let supervisor = fixture.supervisor([configuration])
                    try await testGracefulShutdown { shutdown in
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await supervisor.run() }
                            try await eventually("the history is delivered", on: fixture.clock.changes) {
                                try await received().seqs.count >= 23
                            }
                            // New events while it runs: the sync engine wakes the loop.
                            try await fixture.storeEvents(7)
                            supervisor.eventsStored()
                            try await eventually("the new events are delivered", on: fixture.clock.changes) {
                                try await received().seqs.count >= 30
                            }
                            shutdown.triggerGracefulShutdown()
                            try await group.waitForAll()
                        }
                    }
                    let (seqs, verbatim) = try await received()
                    #expect(seqs == Array(1...30), "every event once, in seq order")
                    #expect(verbatim, "each record is recordJSON, byte for byte")
                    let status = try #require(try await fixture.database.sinkStatuses().first)
                    #expect(status.cursor.deliveredSeq == 30)
                    #expect(status.cursor.state == .running)
                    #expect(status.pendingEvents == 0)
                }
            }
        }

        @Test(arguments: SinkUnderTest.allCases)
        func drainOnceDeliversWhatIsPendingAndReturns(sink: SinkUnderTest) async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(12)
                try await sink.withSink(in: fixture, batchSize: 100) { configuration, received in
                    let first = await fixture.supervisor([configuration]).drainOnce()
                    #expect(first.results.map(\.delivered) == [12])
                    #expect(first.failures.isEmpty)
                    let second = await fixture.supervisor([configuration]).drainOnce()
                    #expect(second.results.map(\.delivered) == [0])
                    let (seqs, verbatim) = try await received()
                    #expect(seqs == Array(1...12))
                    #expect(verbatim)
                }
            }
        }

        @Test(arguments: SinkUnderTest.allCases)
        func newSinkFromNowSkipsTheHistory(sink: SinkUnderTest) async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(4)
                try await sink.withSink(in: fixture, batchSize: 10, from: .now) { configuration, received in
                    _ = await fixture.supervisor([configuration]).drainOnce()
                    let before = try await received().seqs
                    #expect(before.isEmpty)
                    try await fixture.storeEvents(3)
                    _ = await fixture.supervisor([configuration]).drainOnce()
                    let after = try await received().seqs
                    #expect(after == [5, 6, 7])
                }
            }
        }
    }
}
