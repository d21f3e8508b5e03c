import NP6Model

/// `"type": "command"`: a program run once per batch, the records as JSON lines on its standard
/// input; exit status 0 acknowledges the batch.
public struct CommandSinkConfiguration: Sendable, Hashable {
    /// `argv`: the program and its arguments, run without a shell. A program without a `/` is
    /// looked up in `PATH`.
    public var arguments: [String]
    /// `timeoutSeconds`: after this the program is killed and the batch retried.
    public var timeoutSeconds: Int

    public init(arguments: [String], timeoutSeconds: Int = 30) {
        self.arguments = arguments
        self.timeoutSeconds = timeoutSeconds
    }

    public var timeout: Duration { .seconds(timeoutSeconds) }
}
