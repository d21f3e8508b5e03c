import AsyncHTTPClient
import Logging

/// What a sink may use besides its configuration, lent by the ``SinkSupervisor`` for as long as
/// the sink runs.
public struct SinkContext: Sendable {
    /// Shared by the webhook sinks; it never follows redirects.
    public var httpClient: HTTPClient
    /// Carries `sink.name` and `sink.type`.
    public var logger: Logger

    public init(httpClient: HTTPClient, logger: Logger) {
        self.httpClient = httpClient
        self.logger = logger
    }
}
