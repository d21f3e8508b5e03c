import AsyncHTTPClient
import Config
import Crypto
import Foundation
import InMemoryLogging
import Logging
import NIOCore
import NIOHTTP1
import NP6Model
import SQLiteStore
import SyncStore
import Testing

@testable import NP6Sync
@testable import Sinks

extension SinkTests {
    @Suite(.timeLimit(.minutes(5))) struct WebhookSinkTests {
        /// What a delivery loop names a batch with.
        static let delivery = SinkDelivery(databaseID: "0c7e1a52-test", generation: 1)

        /// A webhook sink pointed at `url`, with a client that follows no redirect, as the supervisor builds it.
        @discardableResult
        func withWebhookSink<T: Sendable>(
            _ fixture: SinkFixture,
            url: String,
            secret: String? = nil,
            timeoutSeconds: Int = 30,
            headers: [String: String] = [:],
            signature: WebhookSinkConfiguration.Signature = .np6sync,
            _ body: (WebhookSink) async throws -> T
        ) async throws -> T {
            let supervisor = fixture.supervisor([])
            return try await supervisor.withHTTPClient { client in
                try await body(
                    WebhookSink(
                        name: "crm",
                        configuration: WebhookSinkConfiguration(
                            url: url, timeoutSeconds: timeoutSeconds, headers: headers, signature: signature),
                        secret: secret.map { Secret(unredactedValue: $0) }, client: client))
            }
        }

        @Test func postsTheSignedBatchWithItsHeaders() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(3)
                let events = try await fixture.storedEvents()
                let secret = "s3cr3t-for-hmac"
                try await withWebhookReceiver(
                    secret: secret, script: { _, index in index == 0 ? .init(status: 503) : .ok }
                ) {
                    receiver in
                    try await withWebhookSink(
                        fixture, url: receiver.url, secret: secret, headers: ["X-Source": "np6-sync"]
                    ) { sink in
                        await #expect(throws: SinkError.self) { try await sink.deliver(events, as: Self.delivery) }
                        try await sink.deliver(events, as: Self.delivery)
                    }
                    let (first, second) = (receiver.requests[0], receiver.requests[1])
                    #expect(second.signatureIsValid == true)
                    #expect(
                        second.headers["x-np6sync-signature"]
                            == WebhookReceiver.signature(of: second.body, secret: secret))
                    #expect(second.headers["content-type"] == "application/json")
                    #expect(second.headers["x-source"] == "np6-sync")
                    #expect(
                        second.headers["idempotency-key"]
                            == "0c7e1a52-test:crm:1:1-3:" + IdempotencyKeyTests.independentDigest(of: events))
                    #expect(
                        first.headers["idempotency-key"] == second.headers["idempotency-key"], "stable across retries")
                    #expect(first.body == second.body)
                    #expect(second.body == WebhookSink.body(events))
                    #expect(
                        String(decoding: second.body, as: UTF8.self).hasPrefix(
                            #"{"events":[{"seq":1,"contact":{"kind":"unicity""#))
                }
            }
        }

        @Test func standardSignatureHeadersReplaceTheNP6SyncOne() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(2)
                let events = try await fixture.storedEvents()
                let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                try await withWebhookReceiver { receiver in
                    let started = WallClock.nowMs() / 1000
                    try await withWebhookSink(fixture, url: receiver.url, secret: secret, signature: .standard) {
                        sink in
                        try await sink.deliver(events, as: Self.delivery)
                    }
                    let request = try #require(receiver.requests.first)
                    let id = try #require(request.headers["webhook-id"])
                    let timestampText = try #require(request.headers["webhook-timestamp"])
                    let timestamp = try #require(Int64(timestampText))
                    #expect(id == request.headers["idempotency-key"])
                    #expect(id == "0c7e1a52-test:crm:1:1-2:" + IdempotencyKeyTests.independentDigest(of: events))
                    #expect((started...(started + 60)).contains(timestamp), "seconds since the epoch, now")
                    // Recomputed independently: HMAC over "id.timestamp.body" with the decoded key.
                    let key = SymmetricKey(data: Data(base64Encoded: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!)
                    let code = HMAC<SHA256>.authenticationCode(
                        for: Data("\(id).\(timestamp).".utf8) + Data(request.body), using: key)
                    #expect(request.headers["webhook-signature"] == "v1," + Data(code).base64EncodedString())
                    #expect(request.headers["x-np6sync-signature"] == nil)
                }
            }
        }

        @Test func standardSignatureNeedsAStandardWebhooksSecret() async throws {
            try await withSinkFixture { fixture in
                await #expect(throws: ConfigurationError.self) {
                    try await withWebhookSink(
                        fixture, url: "http://127.0.0.1:9/hook", secret: "s3cr3t-for-hmac", signature: .standard
                    ) { _ in }
                }
            }
        }

        @Test(arguments: [
            (200, "ok"), (204, "ok"), (408, "transient"), (429, "transient"), (500, "transient"), (503, "transient"),
            (400, "permanent"), (409, "permanent"), (413, "permanent"), (422, "permanent"), (401, "refused"),
            (403, "refused"),
            (404, "refused"), (301, "refused"), (307, "refused"),
        ])
        func answerDecidesWhatHappensToTheBatch(status: Int, expected: String) {
            let outcome: String
            do {
                try WebhookSink.check(
                    status: HTTPResponseStatus(statusCode: status), headers: [:], answer: "why", host: "crm.example.com"
                )
                outcome = "ok"
            } catch {
                switch error {
                case .transient: outcome = "transient"
                case .permanent: outcome = "permanent"
                case .refused: outcome = "refused"
                }
                #expect(error.reason.contains("HTTP \(status): why"))
            }
            #expect(outcome == expected)
        }

        @Test func retryAfterIsReadInSecondsOrAsADate() {
            let now: Int64 = 1_700_000_000_000
            #expect(WebhookSink.retryAfter(["Retry-After": "120"], nowMs: now) == .seconds(120))
            #expect(
                WebhookSink.retryAfter(["Retry-After": "Tue, 14 Nov 2023 22:15:20 GMT"], nowMs: now) == .seconds(120))
            #expect(WebhookSink.retryAfter(["Retry-After": "Tue, 14 Nov 2023 22:00:00 GMT"], nowMs: now) == .zero)
            #expect(WebhookSink.retryAfter(["Retry-After": "soon"], nowMs: now) == nil)
            #expect(WebhookSink.retryAfter([:], nowMs: now) == nil)
        }

        @Test func redirectIsNotFollowed() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                try await withWebhookReceiver { receiver in
                    receiver.answer { _, _ in
                        .init(
                            status: 307,
                            headers: ["Location": receiver.url.replacingOccurrences(of: "/hook", with: "/elsewhere")])
                    }
                    try await withWebhookSink(fixture, url: receiver.url) { sink in
                        await #expect {
                            try await sink.deliver(try await fixture.storedEvents(), as: Self.delivery)
                        } throws: { error in
                            guard case .refused(let reason) = error as? SinkError else { return false }
                            return reason.contains("redirects are not followed")
                        }
                    }
                    #expect(receiver.requests.count == 1)
                }
            }
        }

        @Test func slowReceiverTimesOutAsATransientFailure() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                try await withWebhookReceiver(script: { _, _ in .init(status: 200, held: true) }) { receiver in
                    defer { receiver.release() }
                    try await withWebhookSink(fixture, url: receiver.url, timeoutSeconds: 1) { sink in
                        let started = ContinuousClock.now
                        await #expect {
                            try await sink.deliver(try await fixture.storedEvents(), as: Self.delivery)
                        } throws: { error in
                            guard case .transient(let reason, _) = error as? SinkError else { return false }
                            return reason.contains("timed out") && reason.contains("127.0.0.1")
                                && !reason.contains("/hook")
                        }
                        #expect(
                            ContinuousClock.now - started < .seconds(15), "the 1 s timeout, not the receiver, ended it")
                    }
                }
            }
        }

        @Test func refusedConnectionIsTransient() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                // Port 9 (discard) is closed on the loopback of a test machine.
                try await withWebhookSink(fixture, url: "http://127.0.0.1:9/hook?token=abc") { sink in
                    await #expect {
                        try await sink.deliver(try await fixture.storedEvents(), as: Self.delivery)
                    } throws: { error in
                        guard case .transient(let reason, _) = error as? SinkError else { return false }
                        return !reason.contains("token=abc")
                    }
                }
            }
        }
    }
}
