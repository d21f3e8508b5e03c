import Foundation
import Hummingbird
import Logging
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
    var quiet = Logger(label: "webhook-recorder")
    quiet.logLevel = .critical
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: quiet)
        group.addTask {
            defer { continuation.finish() }
            try await application.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await group.next()
            throw CancellationError()
        }
        defer { group.cancelAll() }
        return try await body(recorder, "http://127.0.0.1:\(port)/hook")
    }
}
