import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NP6Model

/// One batch of decoded array elements, in body order.
public struct DecodedBatch: Sendable {
    public var events: [StopEvent] = []
    public var malformed: [MalformedElement] = []
    /// The response's `Date` header with the local time it arrived; `nil` without a valid header.
    public var serverDate: ServerDate?
    public var isEmpty: Bool { events.isEmpty && malformed.isEmpty }
    var count: Int { events.count + malformed.count }
    public init() {}
}
