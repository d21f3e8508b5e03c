import AsyncHTTPClient
import Config
import Foundation
import NIOCore
import NIOHTTP1
import NP6Model
import SyncStore

/// `"type": "webhook"`: POSTs each batch as `{"events":[record, …]}`.
///
/// Headers: `Content-Type: application/json`, `Idempotency-Key` (the same for every attempt of
/// a batch, unique across databases and replays: ``SinkDelivery/idempotencyKey(sink:batch:)``),
/// and the configured `headers`. When a secret is set, the signature headers of the sink's
/// `signature`: `X-NP6Sync-Signature: sha256=<hex>` (`np6sync`, see ``signature(of:secret:)``)
/// or Standard Webhooks' `webhook-id` (the idempotency key), `webhook-timestamp` and
/// `webhook-signature` (`standard`, see ``standardSignature(id:timestamp:body:key:)``).
///
/// Answers: 2xx acknowledges; 408, 429, 5xx, timeouts and connection errors are transient
/// (retried, `Retry-After` honoured); 401, 403, 404, 405, 410 and redirects (never followed)
/// refuse the sink; any other 4xx rejects the batch. Errors name the host, never the URL's path
/// or query, which may hold a token.
public struct WebhookSink: EventSink {
    public let name: String
    let configuration: WebhookSinkConfiguration
    let secret: Secret?
    /// The HMAC key of a Standard Webhooks secret, with `"signature": "standard"`.
    let standardKey: [UInt8]?
    let client: HTTPClient
    /// Seconds since the epoch, for `webhook-timestamp`.
    var nowSeconds: @Sendable () -> Int64 = { WallClock.nowMs() / 1000 }
    /// The host, for messages.
    let host: String

    /// How much of a receiver's answer is kept for the log, the status and dead letters.
    static let answerLimit = 1024
    /// Answers that refuse every delivery, whatever the batch holds.
    static let refusingStatuses: Set<UInt> = [401, 403, 404, 405, 410]

    /// - Throws: `ConfigurationError` when `"signature": "standard"` and `secret` is not a
    ///   Standard Webhooks secret (``Config/Secret/standardWebhooksKey``).
    public init(
        name: String, configuration: WebhookSinkConfiguration, secret: Secret?, client: HTTPClient
    ) throws(ConfigurationError) {
        self.name = name
        self.configuration = configuration
        self.secret = secret
        self.client = client
        self.host = URL(string: configuration.url)?.host ?? "the webhook"
        if let secret, configuration.signature == .standard {
            guard let key = secret.standardWebhooksKey else {
                throw ConfigurationError(
                    path: "sinks[\"\(name)\"].secretFile",
                    message: "not a Standard Webhooks secret (\"whsec_\" followed by base64)")
            }
            self.standardKey = key
        } else {
            self.standardKey = nil
        }
    }

    /// Refuses: a webhook batch is always sent as part of a delivery, which names it for the
    /// receiver (``deliver(_:as:)``, what the delivery loops call). Without one its
    /// `Idempotency-Key` could repeat another delivery's, and the receiver would drop the batch.
    public func deliver(_ batch: [StoredEvent]) async throws {
        throw SinkError.refused(reason: "a webhook batch needs its delivery (database and generation) to be named")
    }

    public func deliver(_ batch: [StoredEvent], as delivery: SinkDelivery) async throws {
        guard !batch.isEmpty else { return }
        let body = Self.body(batch)
        var request = HTTPClientRequest(url: configuration.url)
        request.method = .POST
        for (name, value) in configuration.headers.sorted(by: { $0.key < $1.key }) {
            request.headers.add(name: name, value: value)
        }
        if !request.headers.contains(name: "User-Agent") {
            request.headers.add(name: "User-Agent", value: "np6-sync/\(ProductVersion.current)")
        }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        let key = delivery.idempotencyKey(sink: name, batch: batch)
        request.headers.replaceOrAdd(name: "Idempotency-Key", value: key)
        if let standardKey {
            // The time of this attempt: receivers refuse a timestamp more than 5 minutes off.
            let timestamp = nowSeconds()
            request.headers.replaceOrAdd(name: "webhook-id", value: key)
            request.headers.replaceOrAdd(name: "webhook-timestamp", value: "\(timestamp)")
            request.headers.replaceOrAdd(
                name: "webhook-signature",
                value: Self.standardSignature(id: key, timestamp: timestamp, body: body, key: standardKey))
        } else if let secret {
            request.headers.replaceOrAdd(name: Self.signatureHeader, value: Self.signature(of: body, secret: secret))
        }
        request.body = .bytes(ByteBuffer(bytes: body))

        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let answer: String
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(configuration.timeoutSeconds)))
            status = response.status
            headers = response.headers
            answer = try await Self.readAnswer(response.body)
        } catch {
            throw SinkError.transient(reason: "POST to \(host) failed: \(Self.describe(error))", retryAfter: nil)
        }
        try Self.check(status: status, headers: headers, answer: answer, host: host)
    }

    /// `{"events":[record, …]}`, the exact bytes sent and signed.
    public static func body(_ batch: [StoredEvent]) -> [UInt8] {
        var body = Array(#"{"events":["#.utf8)
        for (index, event) in batch.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += event.recordJSON.utf8
        }
        body += "]}".utf8
        return body
    }

    /// Turns the receiver's answer into success or a ``SinkError``.
    static func check(status: HTTPResponseStatus, headers: HTTPHeaders, answer: String, host: String) throws(SinkError)
    {
        let code = status.code
        let what = answer.isEmpty ? "HTTP \(code)" : "HTTP \(code): \(answer)"
        switch code {
        case 200..<300:
            return
        case 408, 429, 500..<600:
            throw .transient(reason: "\(host) answered \(what)", retryAfter: retryAfter(headers))
        case 300..<400:
            throw .refused(
                reason: "\(host) answered \(what) (redirects are not followed; set url to the final address)")
        case _ where refusingStatuses.contains(code):
            throw .refused(reason: "\(host) answered \(what)")
        case 400..<500:
            throw .permanent(reason: what)
        default:
            throw .transient(reason: "\(host) answered \(what)", retryAfter: nil)
        }
    }

    /// `Retry-After` in seconds or as an HTTP date.
    static func retryAfter(_ headers: HTTPHeaders, nowMs: Int64 = WallClock.nowMs()) -> Duration? {
        guard let value = headers.first(name: "Retry-After"),
            let retryAtMs = Timestamp.parseRetryAfter(value, nowMs: nowMs)
        else { return nil }
        return .milliseconds(retryAtMs - nowMs)
    }

    /// The first ``answerLimit`` bytes of the body, as text on one line; the rest is read and
    /// dropped so that the connection can be reused.
    static func readAnswer(_ body: HTTPClientResponse.Body) async throws -> String {
        var kept: [UInt8] = []
        for try await chunk in body where kept.count < answerLimit {
            kept += chunk.readableBytesView.prefix(answerLimit - kept.count)
        }
        // One line for the log and the status: runs of white space (an HTML page's indentation) become one space.
        return String(decoding: kept, as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout: return "timed out"
            case .connectTimeout: return "connection timed out"
            case .remoteConnectionClosed: return "the connection was closed"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}
