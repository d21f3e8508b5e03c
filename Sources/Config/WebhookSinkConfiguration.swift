import NP6Model

/// `"type": "webhook"`: each batch is POSTed as one JSON document.
///
/// Printing or dumping it shows the header names but not their values, which are often credentials.
public struct WebhookSinkConfiguration: Sendable, Hashable, CustomReflectable {
    /// `signature`: how requests are signed when the sink has a `secretFile`.
    public enum Signature: String, Sendable, Hashable, CaseIterable {
        /// Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
        /// `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the
        /// bytes of a `whsec_<base64>` secret; receivers verify with an existing library.
        case standard
        /// np6-sync's own `X-NP6Sync-Signature: sha256=<hex HMAC-SHA256 of the body>`, keyed
        /// with the secret's UTF-8 text. The default, so that configurations written before
        /// `signature` existed keep signing as their receivers expect.
        case np6sync
    }

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
    /// `signature`: `np6sync` unless configured; only with a `secretFile`.
    public var signature: Signature

    public init(
        url: String, secretFile: String? = nil, timeoutSeconds: Int = 10, headers: [String: String] = [:],
        signature: Signature = .np6sync
    ) {
        self.url = url
        self.secretFile = secretFile
        self.timeoutSeconds = timeoutSeconds
        self.headers = headers
        self.signature = signature
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
                "signature": signature,
            ],
            displayStyle: .struct
        )
    }
}
