import Logging

/// A running fake NP6 API, as ``withFakeNP6API(configuration:logger:isolation:_:)`` hands it to its body.
public struct FakeNP6Handle: Sendable {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    public let baseURL: String
    /// The bound ephemeral port.
    public let port: Int
    /// The server's state: contacts, events, knobs, request log.
    public let state: FakeNP6State
}

/// Runs the fake on 127.0.0.1 and an ephemeral port for the duration of `body`, and tears it
/// down after, also when `body` throws.
///
/// ```swift
/// try await withFakeNP6API(configuration: .init(seed: 3)) { api in
///     let contacts = await api.state.contacts
///     // … point a client at api.baseURL …
/// }
/// ```
/// - Throws: What `body` throws, or ``FakeNP6Error/serverDidNotStart`` / the bind error.
public func withFakeNP6API<T: Sendable>(
    configuration: FakeNP6Configuration = .init(),
    logger: Logger = Logger(label: "np6-fake"),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (FakeNP6Handle) async throws -> T
) async throws -> T {
    let server = FakeNP6Server(configuration: configuration, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        group.addTask {
            defer { portContinuation.finish() }
            try await server.run(port: 0) { port in portContinuation.yield(port) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            // The server ended before listening: surface its error.
            try await group.next()
            throw FakeNP6Error.serverDidNotStart
        }
        defer { group.cancelAll() }
        let handle = FakeNP6Handle(baseURL: "http://127.0.0.1:\(port)", port: port, state: server.state)
        return try await body(handle)
    }
}
