import NP6Model

/// `"type": "command"`: a program run once per batch, the records as JSON lines on its standard
/// input; exit status 0 acknowledges the batch.
public struct CommandSinkConfiguration: Sendable, Hashable {
    /// `argv`: the program and its arguments, run without a shell. A program without a `/` is
    /// looked up in `PATH`.
    public var arguments: [String]
    /// `timeoutSeconds`: after this the program is killed and the batch retried.
    public var timeoutSeconds: Int
    /// `env`: variables set for the program, on top of the few it inherits from the daemon
    /// (`PATH`, `LANG`, `LC_*`, `TZ`, `HOME`) and `NP6_SYNC_SINK`; a value given here wins over
    /// an inherited one. Values may be secret: never log them.
    public var environment: [String: String]

    public init(arguments: [String], timeoutSeconds: Int = 30, environment: [String: String] = [:]) {
        self.arguments = arguments
        self.timeoutSeconds = timeoutSeconds
        self.environment = environment
    }

    public var timeout: Duration { .seconds(timeoutSeconds) }
}
