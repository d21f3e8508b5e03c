/// Errors of ``SinkSupervisor`` calls.
public enum SinkSupervisorError: Error, CustomStringConvertible, Sendable {
    /// No sink of that name is configured.
    case unknownSink(String, configured: [String])
    /// ``SinkSupervisor/run()`` was called while it was already running.
    case alreadyRunning

    public var description: String {
        switch self {
        case .unknownSink(let name, let configured):
            "no sink named \"\(name)\" in the configuration"
                + (configured.isEmpty ? " (it has none)" : "; configured: \(configured.joined(separator: ", "))")
        case .alreadyRunning:
            "the sink supervisor is already running"
        }
    }
}
