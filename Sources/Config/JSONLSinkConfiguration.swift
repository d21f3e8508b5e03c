/// `"type": "jsonl"`: one record per line, appended to a file or written to standard output.
public struct JSONLSinkConfiguration: Sendable, Hashable {
    public enum Destination: Sendable, Hashable {
        /// `"path": "-"`.
        case standardOutput
        /// An absolute path.
        case file(String)
    }

    /// `path`.
    public var destination: Destination

    public init(destination: Destination) {
        self.destination = destination
    }
}
