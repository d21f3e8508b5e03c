/// Everything wrong with a configuration, a contacts list or a credential, found in one pass.
///
/// The CLI prints ``description`` (one issue per line) and exits with 78 (`EX_CONFIG`):
/// ```
/// schedule.intervalSeconds: must be at least 1, got -5
/// sinks[1].url: expected a string, found a number
/// ```
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems, section by section in the order the input is read.
    public var issues: [ConfigurationIssue]

    public init(issues: [ConfigurationIssue]) {
        self.issues = issues
    }

    public init(path: String, message: String) {
        self.init(issues: [ConfigurationIssue(path: path, message: message)])
    }

    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}

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
