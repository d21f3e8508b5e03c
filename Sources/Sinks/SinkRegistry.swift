import AsyncHTTPClient
import Config
import Logging
import NP6Model
import SyncStore

/// Builds sinks from their configuration.
///
/// Adding a sink type: its configuration case in `SinkConfiguration.Kind`, one file with the
/// sink, and one line in ``builtIn``.
public struct SinkRegistry: Sendable {
    public typealias Factory = @Sendable (SinkConfiguration, SinkContext) throws -> any EventSink

    private let factory: Factory

    /// A registry of your own, e.g. to run supervisors over test sinks.
    public init(_ factory: @escaping Factory) {
        self.factory = factory
    }

    /// The sinks np6-sync ships: `jsonl`, `webhook`, `command`.
    public static let builtIn = SinkRegistry { configuration, context in
        switch configuration.kind {
        case .jsonl(let jsonl): JSONLSink(name: configuration.name, configuration: jsonl)
        case .webhook(let webhook):
            try WebhookSink(
                name: configuration.name, configuration: webhook, secret: configuration.readSecret(),
                client: context.httpClient)
        case .command(let command):
            CommandSink(
                name: configuration.name, configuration: command, logger: context.logger,
                daemonEnvironment: context.environment, clock: context.clock)
        }
    }

    /// A sink for `configuration`.
    ///
    /// - Throws: when the sink cannot be built, e.g. `ConfigurationError` for an unreadable
    ///   webhook secret (the secret never appears in it).
    public func makeSink(_ configuration: SinkConfiguration, context: SinkContext) throws -> any EventSink {
        try factory(configuration, context)
    }
}
