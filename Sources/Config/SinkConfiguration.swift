import NP6Client

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

/// `"type": "webhook"`: each batch is POSTed as one JSON document.
///
/// Printing or dumping it shows the header names but not their values, which are often credentials.
public struct WebhookSinkConfiguration: Sendable, Hashable, CustomReflectable {
    /// `url`: `http` or `https`, with a host, without credentials.
    public var url: String
    /// `secretFile`: an absolute path to the HMAC-SHA256 key, read by
    /// ``SinkConfiguration/readSecret()``; `nil` sends unsigned requests.
    public var secretFile: String?
    /// `timeoutSeconds`: the longest one POST may take.
    public var timeoutSeconds: Int
    /// `headers`: extra request headers, e.g. a static `Authorization`. Values may be secret:
    /// never log them.
    public var headers: [String: String]

    public init(url: String, secretFile: String? = nil, timeoutSeconds: Int = 10, headers: [String: String] = [:]) {
        self.url = url
        self.secretFile = secretFile
        self.timeoutSeconds = timeoutSeconds
        self.headers = headers
    }

    public var timeout: Duration { .seconds(timeoutSeconds) }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "url": url,
                "secretFile": secretFile as Any,
                "timeoutSeconds": timeoutSeconds,
                "headers": headers.keys.sorted().map { "\($0): <redacted>" },
            ],
            displayStyle: .struct
        )
    }
}

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
