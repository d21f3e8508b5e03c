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
