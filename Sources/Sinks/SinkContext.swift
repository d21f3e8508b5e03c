import AsyncHTTPClient
import Foundation
import Logging

/// What a sink may use besides its configuration, lent by the ``SinkSupervisor`` for as long as
/// the sink runs.
public struct SinkContext: Sendable {
    /// Shared by the webhook sinks; it never follows redirects.
    public var httpClient: HTTPClient
    /// Carries `sink.name` and `sink.type`.
    public var logger: Logger
    /// The daemon's environment variables; a command sink passes on only a few of them.
    public var environment: [String: String]
    /// What a sink measures its own timeouts on (a command's run): the supervisor's clock.
    public var clock: any Clock<Duration>

    public init(
        httpClient: HTTPClient, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment,
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.httpClient = httpClient
        self.logger = logger
        self.environment = environment
        self.clock = clock
    }
}
