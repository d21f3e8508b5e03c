import NP6Model

/// One entry of the `sinks` list: where stored events are delivered, in batches, at least once.
///
/// ```json
/// {"name": "crm", "type": "webhook", "url": "https://crm.example.com/hooks/np6-stops", "batchSize": 50}
/// ```
public struct SinkConfiguration: Sendable, Hashable {
    /// Where a new sink starts; a sink with a stored cursor always resumes from it.
    public enum StartPosition: String, Sendable, Hashable, CaseIterable {
        /// From the first stored event: the sink receives the whole history.
        case beginning
        /// From the events stored after the sink first runs.
        case now
    }

    /// The type-specific part, chosen by `type`.
    public enum Kind: Sendable, Hashable {
        case jsonl(JSONLSinkConfiguration)
        case webhook(WebhookSinkConfiguration)
        case command(CommandSinkConfiguration)

        /// The `type` value: `jsonl`, `webhook` or `command`.
        public var typeName: String {
            switch self {
            case .jsonl: "jsonl"
            case .webhook: "webhook"
            case .command: "command"
            }
        }
    }

    /// `name`: unique, `[A-Za-z0-9._-]+`; it keys the sink's cursor in the database, so renaming
    /// a sink makes it a new sink.
    public var name: String
    /// `type` and the keys that go with it.
    public var kind: Kind
    /// `batchSize`: the most events per delivery (1…10000).
    public var batchSize: Int
    /// `from`: where the sink starts the first time it runs.
    public var from: StartPosition
    /// `deadLetter`: when `true`, a batch the receiver rejects for good is split to set the
    /// rejected events aside (in `dead_letters`, with the receiver's answer) so later events
    /// flow; when `false` (the default) the sink stops there, keeping its cursor, until a reload
    /// or `np6-sync sinks replay`. Transient failures are retried with backoff either way.
    public var deadLetter: Bool

    public init(
        name: String,
        kind: Kind,
        batchSize: Int = 100,
        from: StartPosition = .beginning,
        deadLetter: Bool = false
    ) {
        self.name = name
        self.kind = kind
        self.batchSize = batchSize
        self.from = from
        self.deadLetter = deadLetter
    }
}
