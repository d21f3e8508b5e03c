import Config
import Foundation
import InMemoryLogging
import Logging
import NP6Client
import NP6Fake
import NP6Model
import Prometheus
import SQLiteStore
import ServiceLifecycleTestKit
import SyncStore
import TestClocks
import Testing

@testable import NP6Sync
@testable import Sinks

extension SinkTests {
    @Suite(.timeLimit(.minutes(5))) struct SinkSupervisorTests {
        /// Runs the supervisor until `body` returns, then shuts it down gracefully.
        func running<T>(_ supervisor: SinkSupervisor, _ body: () async throws -> T) async throws -> T {
            try await testGracefulShutdown { shutdown in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await supervisor.run() }
                    let result = try await body()
                    shutdown.triggerGracefulShutdown()
                    try await group.waitForAll()
                    return result
                }
            }
        }

        func webhook(
            _ name: String, _ receiver: WebhookReceiver, batchSize: Int = 10, deadLetter: Bool = false,
            secretFile: String? = nil
        )
            -> SinkConfiguration
        {
            SinkConfiguration(
                name: name,
                kind: .webhook(WebhookSinkConfiguration(url: receiver.url, secretFile: secretFile, timeoutSeconds: 30)),
                batchSize: batchSize, deadLetter: deadLetter)
        }

        @Test func receiverFailingWith500ThenRecoveringReceivesEverything() async throws {
            try await withSinkFixture { fixture in
                let ids = try await fixture.storeEvents(25)
                try await withWebhookReceiver(script: { _, index in
                    index < 4 ? .init(status: 500, body: "database is down") : .ok
                }) { receiver in
                    let supervisor = fixture.supervisor([webhook("crm", receiver)])
                    try await running(supervisor) {
                        try await fixture.clock.advancingToEachDeadline {
                            try await eventually("everything is delivered", on: fixture.clock.changes) {
                                receiver.acceptedSeqs.count >= 25
                            }
                        }
                    }
                    #expect(receiver.acceptedSeqs == Array(1...25))
                    #expect(receiver.acceptedIDs == ids)
                    #expect(receiver.requests.count == 4 + 3, "four failures, then three batches")
                    let cursor = try #require(try await fixture.database.sinkCursor("crm"))
                    #expect(cursor.state == .running)
                    #expect(cursor.deliveredSeq == 25)
                    #expect(cursor.lastError == nil)
                    let retries = fixture.logs.entries.filter {
                        $0.message.description == "Sink delivery failed; retrying"
                    }
                    #expect(retries.count == 4)
                    #expect(retries.allSatisfy { $0.metadata["sink.name"] == "crm" && $0.level == .warning })
                    #expect(
                        retries.first?.metadata["error"]?.description.contains("HTTP 500: database is down") == true)
                    #expect(fixture.loggedLines.contains { $0.contains("Sink recovered") })
                }
            }
        }

        @Test func retryAfterIsHonoured() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(3)
                try await withWebhookReceiver(script: { _, index in
                    index == 0 ? .init(status: 429, headers: ["Retry-After": "1"]) : .ok
                }) { receiver in
                    let started = fixture.clock.now
                    let supervisor = fixture.supervisor([webhook("crm", receiver)])
                    let report = try await fixture.clock.advancingToEachDeadline { await supervisor.drainOnce() }
                    #expect(report.failures.isEmpty)
                    #expect(started.duration(to: fixture.clock.now) >= .seconds(1), "the backoff alone is 20 ms")
                    #expect(receiver.acceptedSeqs == [1, 2, 3])
                }
            }
        }

        @Test func rejectedBatchStopsThatSinkWhileAnotherSinkAndIngestionGoOn() async throws {
            try await withSyncFixture { sync in
                try await sync.addFakeContacts()
                let archive = FileManager.default.temporaryDirectory
                    .appendingPathComponent("np6-archive-\(UUID().uuidString).jsonl").path
                defer { try? FileManager.default.removeItem(atPath: archive) }
                let rejectEverything: WebhookReceiver.Script = { _, _ in
                    .init(status: 400, body: #"{"error":"unknown field"}"#)
                }
                try await withWebhookReceiver(script: rejectEverything) { receiver in
                    let clock = ManualClock()
                    let supervisor = SinkSupervisor(
                        database: sync.database,
                        sinks: [
                            webhook("crm", receiver),
                            SinkConfiguration(
                                name: "archive", kind: .jsonl(JSONLSinkConfiguration(destination: .file(archive)))),
                        ],
                        logger: sync.logger, policy: SinkFixture.fastPolicy, clock: clock)
                    try await running(supervisor) {
                        // Ingestion while one sink is rejected: a real sync pass against the fake API.
                        let first = try await sync.pass().run(logger: sync.logger)
                        #expect(first.failures.isEmpty)
                        supervisor.eventsStored()
                        let stored = try await sync.storedEventCount()
                        #expect(stored > 0)
                        try await eventually("the archive has every event", on: clock.changes) {
                            lines(archive).count == stored
                        }
                        try await eventually("crm is stopped", on: clock.changes) {
                            try await sync.database.sinkCursor("crm")?.state == .stopped
                        }
                        _ = await sync.api.state.publish(count: 5, lateFraction: 1)
                        let second = try await sync.pass().run(logger: sync.logger)
                        #expect(second.run.eventsNew == 5)
                        supervisor.eventsStored()
                        try await eventually("the archive has the new events", on: clock.changes) {
                            lines(archive).count == stored + 5
                        }

                        let crm = try #require(
                            try await sync.database.sinkStatuses().first { $0.cursor.sink == "crm" })
                        #expect(crm.cursor.state == .stopped)
                        #expect(crm.cursor.deliveredSeq == 0, "the cursor is kept")
                        #expect(crm.pendingEvents == stored + 5)
                        #expect(crm.cursor.lastError?.contains(#"HTTP 400: {"error":"unknown field"}"#) == true)
                        #expect(receiver.requests.count == 1, "a stopped sink does not hammer the receiver")
                        let stop = try #require(sync.logs.entries.first { $0.level == .error })
                        #expect(stop.message.description.hasPrefix("Sink stopped"))
                        #expect(stop.metadata["sink.name"] == "crm")

                        // The receiver is fixed; `sinks replay` resumes the stopped sink from the start.
                        receiver.answer { _, _ in .ok }
                        _ = try await sync.database.rewindSinkCursor(
                            "crm", toRedeliverFromSeq: 1, now: WallClock.nowMs())
                        // The stopped loop looks at its cursor every `pollInterval`.
                        try await clock.advancingToEachDeadline {
                            try await eventually("crm catches up", on: clock.changes) {
                                receiver.acceptedSeqs.count == stored + 5
                            }
                        }
                    }
                    #expect(receiver.acceptedSeqs == Array(1...Int64(lines(archive).count)))
                    #expect(try await sync.database.sinkCursor("crm")?.state == .running)
                }
            }
        }

        @Test func replayRedeliversFromTheGivenPoint() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(10)
                try await withWebhookReceiver { receiver in
                    let supervisor = fixture.supervisor([webhook("crm", receiver, batchSize: 4)])
                    _ = await supervisor.drainOnce()
                    let rewind = try await fixture.database.rewindSinkCursor(
                        "crm", toRedeliverFromSeq: 7, now: WallClock.nowMs())
                    #expect(rewind == SinkRewind(previousSeq: 10, deliveredSeq: 6))
                    _ = await supervisor.drainOnce()
                    #expect(receiver.acceptedSeqs == Array(1...10) + [7, 8, 9, 10])
                }
            }
        }

        @Test func deadLetteringIsolatesTheRejectedEventsAndDeliversTheRest() async throws {
            try await withSinkFixture { fixture in
                let ids = try await fixture.storeEvents(20)
                let rejected: Set<String> = [ids[5], ids[13]]
                try await withWebhookReceiver(script: { request, _ in
                    request.ids.contains(where: rejected.contains)
                        ? .init(status: 422, body: #"{"error":"unknown contact"}"#) : .ok
                }) { receiver in
                    let supervisor = fixture.supervisor([webhook("crm", receiver, batchSize: 8, deadLetter: true)])
                    let report = await supervisor.drainOnce()
                    #expect(report.results.first?.delivered == 18)
                    #expect(report.results.first?.deadLettered == 2)
                    #expect(receiver.acceptedIDs == ids.filter { !rejected.contains($0) }, "the rest, in order")
                    let letters = try await fixture.database.pendingDeadLetters(for: "crm")
                    #expect(Set(letters.map(\.eventID)) == rejected)
                    #expect(letters.allSatisfy { $0.answer == #"HTTP 422: {"error":"unknown contact"}"# })
                    #expect(try await fixture.database.sinkCursor("crm")?.deliveredSeq == 20)
                    #expect(try await fixture.database.sinkCursor("crm")?.state == .running)
                    #expect(fixture.logs.entries.filter { $0.message.description.contains("dead letter") }.count == 2)

                    // Still rejected, then accepted: `sinks replay --dead-letters`.
                    let again = try await supervisor.resendDeadLetters(of: "crm")
                    #expect(again.rejected == 2 && again.resent == 0)
                    receiver.answer { _, _ in .ok }
                    let resent = try await supervisor.resendDeadLetters(of: "crm")
                    #expect(resent.resent == 2 && resent.rejected == 0)
                    #expect(Set(receiver.acceptedIDs.suffix(2)) == rejected)
                    #expect(try await fixture.database.pendingDeadLetters(for: "crm").isEmpty)
                    await #expect(throws: SinkSupervisorError.self) {
                        try await supervisor.resendDeadLetters(of: "nope")
                    }
                }
            }
        }

        @Test func refusingReceiverStopsTheSinkEvenWithDeadLettering() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(6)
                try await withWebhookReceiver(script: { _, _ in .init(status: 403, body: "bad token") }) { receiver in
                    let report = await fixture.supervisor([webhook("crm", receiver, deadLetter: true)]).drainOnce()
                    #expect(report.failures.first?.stopped == true)
                    let letters = try await fixture.database.pendingDeadLetters(for: "crm")
                    #expect(letters.isEmpty, "nothing set aside")
                    #expect(try await fixture.database.sinkCursor("crm")?.deliveredSeq == 0)
                    #expect(receiver.requests.count == 1)
                }
            }
        }

        @Test func gracefulShutdownStopsAtABatchBoundary() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(40)
                // The second batch and the later ones wait at the receiver until it is released.
                try await withWebhookReceiver(script: { _, index in .init(status: 200, held: index >= 1) }) {
                    receiver in
                    let supervisor = fixture.supervisor([webhook("crm", receiver, batchSize: 5)])
                    try await testGracefulShutdown { shutdown in
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await supervisor.run() }
                            // Shut down while the second batch is at the receiver, then let it answer.
                            try await receiver.changes.wait { receiver.requests.count >= 2 }
                            shutdown.triggerGracefulShutdown()
                            receiver.release()
                            try await group.waitForAll()
                        }
                    }
                    let cursor = try #require(try await fixture.database.sinkCursor("crm")).deliveredSeq
                    #expect(cursor == receiver.acceptedSeqs.last, "the in-flight batch finished and was recorded")
                    #expect(cursor < 40, "it stopped instead of draining everything")
                    #expect(fixture.loggedLines.contains { $0.contains("Sink stopped at a batch boundary") })
                }
            }
        }

        @Test func reloadStartsAddedSinksStopsRemovedOnesAndResumesStoppedOnes() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(6)
                let flaky = RecordingSink(name: "flaky") { _, _ in .permanent(reason: "HTTP 400: no") }
                let steady = RecordingSink(name: "steady")
                let late = RecordingSink(name: "late")
                let supervisor = fixture.supervisor(
                    [.test("flaky"), .test("steady")], registry: .fixed([flaky, steady, late]))
                try await running(supervisor) {
                    try await eventually("steady catches up", on: fixture.clock.changes) { steady.delivered.count == 6 }
                    try await eventually("flaky stops", on: fixture.clock.changes) {
                        try await fixture.database.sinkCursor("flaky")?.state == .stopped
                    }

                    flaky.script { _, _ in nil }
                    supervisor.reload([.test("flaky"), .test("late")])
                    try await eventually("flaky resumes and catches up", on: fixture.clock.changes) {
                        flaky.delivered.count == 6
                    }
                    try await eventually("late starts", on: fixture.clock.changes) { late.delivered.count == 6 }
                    try await fixture.storeEvents(2)
                    supervisor.eventsStored()
                    try await eventually("the running sinks get the new events", on: fixture.clock.changes) {
                        flaky.delivered.count == 8 && late.delivered.count == 8
                    }
                    #expect(steady.delivered.count == 6, "a removed sink gets nothing more")
                }
                #expect(try await fixture.database.sinkCursor("steady")?.deliveredSeq == 6, "its cursor is kept")
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func acknowledgedEventsAndFailedAttemptsAreCountedPerSink() async throws {
            try await withSinkFixture { fixture in
                let ids = try await fixture.storeEvents(12)
                let crm = RecordingSink(name: "crm") { call, _ in
                    call < 2 ? .transient(reason: "HTTP 503", retryAfter: nil) : nil
                }
                let audit = RecordingSink.rejecting([ids[4]], name: "audit")
                let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
                let supervisor = SinkSupervisor(
                    database: fixture.database, sinks: [.test("crm"), .test("audit", batchSize: 1, deadLetter: true)],
                    logger: fixture.logger, policy: SinkFixture.fastPolicy, registry: .fixed([crm, audit]),
                    metrics: metrics, clock: fixture.clock)
                try await running(supervisor) {
                    // The backoff after each failure passes at once.
                    try await fixture.clock.advancingToEachDeadline {
                        try await eventually("both sinks catch up", on: fixture.clock.changes) {
                            let crmCursor = try await fixture.database.sinkCursor("crm")
                            let auditCursor = try await fixture.database.sinkCursor("audit")
                            return crmCursor?.deliveredSeq == 12 && auditCursor?.deliveredSeq == 12
                        }
                    }
                }
                let text = metrics.exposition()
                for line in [
                    #"np6sync_sink_delivered_events_total{sink="crm"} 12"#,
                    #"np6sync_sink_failures_total{sink="crm"} 2"#,
                    // The rejected event became a dead letter: not delivered, one failed attempt.
                    #"np6sync_sink_delivered_events_total{sink="audit"} 11"#,
                    #"np6sync_sink_failures_total{sink="audit"} 1"#,
                ] {
                    #expect(text.contains(line + "\n"), "missing: \(line)")
                }
            }
        }

        @Test func sinkThatCannotBeBuiltIsRecordedStoppedAndTheOthersRun() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(3)
                let secretFile = fixture.path("missing-secret")
                try await withWebhookReceiver { receiver in
                    let report = await fixture.supervisor([
                        webhook("crm", receiver, secretFile: secretFile),
                        SinkConfiguration(
                            name: "archive",
                            kind: .jsonl(JSONLSinkConfiguration(destination: .file(fixture.path("a.jsonl"))))),
                    ]).drainOnce()
                    #expect(report.results.map(\.delivered) == [0, 3])
                    let failure = try #require(report.failures.first)
                    #expect(failure.isConfigurationError)
                    #expect(failure.error?.contains("secretFile") == true)
                    #expect(try await fixture.database.sinkCursor("crm")?.state == .stopped)
                    #expect(receiver.requests.isEmpty)
                }
            }
        }

        @Test func secretNeverAppearsInLogsStatusOrErrors() async throws {
            try await withSinkFixture { fixture in
                let secret = "whsec-5b1e0c7d9a2f4e6b8c3d"
                try Data("\(secret)\n".utf8).write(to: URL(fileURLWithPath: fixture.path("secret")))
                try await fixture.storeEvents(9)
                try await withWebhookReceiver(
                    secret: secret,
                    script: { _, index in
                        switch index {
                        case 0: .init(status: 503, body: "busy")
                        case 1: .init(status: 500)
                        default: .ok
                        }
                    }
                ) { receiver in
                    let configuration = webhook("crm", receiver, batchSize: 4, secretFile: fixture.path("secret"))
                    let supervisor = fixture.supervisor([configuration])
                    let report = try await fixture.clock.advancingToEachDeadline { await supervisor.drainOnce() }
                    #expect(report.failures.isEmpty)
                    #expect(receiver.acceptedSeqs == Array(1...9))
                    #expect(
                        receiver.requests.allSatisfy { $0.signatureIsValid == true },
                        "the receiver verified every signature")
                    // A wrong secret on the receiver's side: the signature no longer verifies.
                    let forged = WebhookReceiver.signature(of: receiver.requests[0].body, secret: "other")
                    #expect(forged != receiver.requests[0].headers["x-np6sync-signature"])

                    let statuses = try await fixture.database.sinkStatuses()
                    let everything = fixture.loggedLines + statuses.map { "\($0)" } + report.results.map { "\($0)" }
                    #expect(fixture.logs.entries.contains { $0.level == .warning }, "the failures were logged")
                    #expect(!everything.contains { $0.contains(secret) })
                }
            }
        }
    }
}

/// The lines of a file, none when it does not exist.
func lines(_ path: String) -> [Substring] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
}
