import Foundation
import HTTPTestSupport
import Hummingbird
import Synchronization

/// A webhook receiver on 127.0.0.1 and an ephemeral port that answers 200 and records the event
/// ids of every batch it is sent, redeliveries included (the daemons deliver at least once).
final class WebhookRecorder: Sendable {
    private let ids = Mutex<[String]>([])

    /// Every event id received, in arrival order, once per delivery.
    var receivedIDs: [String] { ids.withLock { $0 } }

    fileprivate func record(_ body: ByteBuffer) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let events = object["events"] as? [[String: Any]]
        else { return }
        let received = events.compactMap { ($0["event"] as? [String: Any])?["id"] as? String }
        ids.withLock { $0.append(contentsOf: received) }
    }
}

/// Runs a recorder for the duration of `body`, which gets it and its URL (`…/hook`).
func withWebhookRecorder<T: Sendable>(_ body: (WebhookRecorder, _ url: String) async throws -> T) async throws -> T {
    let recorder = WebhookRecorder()
    let router = Router()
    router.post("/hook") { request, _ -> Response in
        recorder.record(try await request.body.collect(upTo: 64 << 20))
        return Response(status: .ok)
    }
    return try await withLoopbackServer(router) { port in
        try await body(recorder, "http://127.0.0.1:\(port)/hook")
    }
}
