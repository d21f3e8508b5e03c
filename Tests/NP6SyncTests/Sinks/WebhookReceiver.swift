import Crypto
import Foundation
import HTTPTestSupport
import HTTPTypes
import Hummingbird
import InMemoryLogging
import Synchronization
import TestClocks

/// A webhook receiver on 127.0.0.1 and an ephemeral port: it records every request, checks the
/// HMAC signature when it knows the secret, and answers as the test scripts it.
final class WebhookReceiver: Sendable {
    /// One request as received.
    struct Request: Sendable {
        var body: [UInt8]
        /// Lower-cased names.
        var headers: [String: String]
        /// `nil` when the receiver has no secret.
        var signatureIsValid: Bool?
        var seqs: [Int64]
        var ids: [String]
    }

    /// What to answer.
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body = ""
        /// Answers only once the test calls ``WebhookReceiver/release()``: a slow receiver.
        var held = false

        static let ok = Answer(status: 200)
    }

    /// Chooses the answer from the request and the number of requests before it.
    typealias Script = @Sendable (Request, Int) -> Answer

    private struct State {
        var requests: [Request] = []
        var accepted: [Request] = []
        var script: Script
        var url = ""
        var released = false
    }

    let secret: String?
    private let state: Mutex<State>
    /// Signalled at each request received and answered: `changes.wait { receiver.… }` waits
    /// for what the receiver has seen without polling.
    let changes = StateChanges()

    init(secret: String?, script: @escaping Script) {
        self.secret = secret
        self.state = Mutex(State(script: script))
    }

    /// `http://127.0.0.1:PORT/hook`.
    var url: String { state.withLock { $0.url } }
    /// Every request, in arrival order.
    var requests: [Request] { state.withLock { $0.requests } }
    /// The requests answered 2xx.
    var accepted: [Request] { state.withLock { $0.accepted } }
    /// The event seqs of the accepted requests, in order.
    var acceptedSeqs: [Int64] { accepted.flatMap(\.seqs) }
    var acceptedIDs: [String] { accepted.flatMap(\.ids) }

    /// Changes how the receiver answers from now on.
    func answer(_ script: @escaping Script) {
        state.withLock { $0.script = script }
    }

    /// Lets the held answers go, and every later one.
    func release() {
        state.withLock { $0.released = true }
        changes.signal()
    }

    fileprivate func handle(_ body: [UInt8], headers: HTTPFields) async -> Answer {
        var names: [String: String] = [:]
        for field in headers { names[field.name.canonicalName] = field.value }
        var request = Request(body: body, headers: names, signatureIsValid: nil, seqs: [], ids: [])
        if let secret {
            let expected = Self.signature(of: body, secret: secret)
            let given = names["x-np6sync-signature"] ?? ""
            // What a real receiver does: recompute over the raw body, compare in constant time.
            request.signatureIsValid =
                given.utf8.count == expected.utf8.count
                && zip(given.utf8, expected.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let events = object["events"] as? [[String: Any]]
        {
            request.seqs = events.compactMap { ($0["seq"] as? NSNumber)?.int64Value }
            request.ids = events.compactMap { ($0["event"] as? [String: Any])?["id"] as? String }
        }
        let (script, index) = state.withLock { state in
            defer { state.requests.append(request) }
            return (state.script, state.requests.count)
        }
        changes.signal()
        let answer =
            request.signatureIsValid == false ? Answer(status: 401, body: "bad signature") : script(request, index)
        if (200..<300).contains(answer.status) {
            state.withLock { $0.accepted.append(request) }
            changes.signal()
        }
        if answer.held {
            // Bounded, so that a test that forgets to release fails instead of hanging.
            try? await changes.wait { state.withLock { $0.released } }
        }
        return answer
    }

    /// `sha256=<hex HMAC-SHA256 of the body>`, computed independently of the sink's code.
    static func signature(of body: [UInt8], secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    fileprivate func setURL(_ url: String) { state.withLock { $0.url = url } }
}

/// Runs a receiver on loopback for the duration of `body`, which gets its URL (`/hook`).
func withWebhookReceiver<T: Sendable>(
    secret: String? = nil,
    script: @escaping WebhookReceiver.Script = { _, _ in .ok },
    _ body: (WebhookReceiver) async throws -> T
) async throws -> T {
    let receiver = WebhookReceiver(secret: secret, script: script)
    let router = Router()
    router.post("/hook") { request, _ -> Response in
        let bytes = try await request.body.collect(upTo: 64 * 1024 * 1024)
        let answer = await receiver.handle(Array(buffer: bytes), headers: request.headers)
        var headers = HTTPFields()
        for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }
    router.post("/elsewhere") { _, _ -> Response in
        Response(status: .ok)
    }
    return try await withLoopbackServer(router) { port in
        receiver.setURL("http://127.0.0.1:\(port)/hook")
        return try await body(receiver)
    }
}
