import NP6Model

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
