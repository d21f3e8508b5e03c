import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NP6Model

/// Settings of the HTTP client for the NP6 API.
public struct NP6ClientConfiguration: Sendable {
    /// E.g. `https://api-cm.np6.com`; may carry a path prefix.
    public var baseURL: String
    /// Sent as `X-Key`; never logged, never part of an error.
    public var apiKey: String
    /// The idle read timeout: the longest silence, before the response head or inside the body,
    /// before the request fails. Connecting may take at most this or 10 s, whichever is less.
    /// Nothing else bounds a whole request: a body that keeps coming is read to its end.
    public var timeoutSeconds: Int
    /// Connections kept open to the API at most (the pool's soft limit).
    public var maxConnections: Int
    /// Elements handed to the consumer at a time: memory holds one batch, never the body.
    public var batchSize: Int
    /// A longer element is quarantined by its prefix instead of buffered.
    public var maxElementBytes: Int
    public var userAgent: String

    public init(
        baseURL: String,
        apiKey: String,
        timeoutSeconds: Int = 30,
        maxConnections: Int = 4,
        batchSize: Int = 500,
        maxElementBytes: Int = 1 << 20,
        userAgent: String = "np6-sync/\(ProductVersion.current)"
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.timeoutSeconds = timeoutSeconds
        self.maxConnections = maxConnections
        self.batchSize = batchSize
        self.maxElementBytes = maxElementBytes
        self.userAgent = userAgent
    }
}
