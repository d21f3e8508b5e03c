/// One problem: where it is and what is wrong, e.g. `api.timeoutSeconds: must be at least 1, got 0`.
///
/// A message never contains a secret: neither the API key nor a webhook secret, wherever it was put.
public struct ConfigurationIssue: Sendable, Hashable, CustomStringConvertible {
    /// The key path (`sinks[1].url`), a file and line (`contacts.txt: line 7`) or a setting's name
    /// (`NP6_API_KEY`).
    public var path: String
    /// What is wrong and, where it helps, the bad value and what would be accepted.
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
