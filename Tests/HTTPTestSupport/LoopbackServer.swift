import Hummingbird
import Logging

/// Serves `router` on 127.0.0.1 and an ephemeral port, quietly, for the duration of `body`,
/// which gets the port: the tests' webhook receivers.
public func withLoopbackServer<T: Sendable>(
    _ router: Router<BasicRequestContext>, _ body: (_ port: Int) async throws -> T
) async throws -> T {
    var quiet = Logger(label: "loopback-server")
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
        return try await body(port)
    }
}
