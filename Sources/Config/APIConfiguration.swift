import NP6Model

/// How to reach the NP6 API and how hard to push it: the `api` object of the config file.
///
/// The key itself is never here; see ``resolveKey(environment:)``.
public struct APIConfiguration: Sendable, Hashable {
    /// The production server of the NP6 API.
    public static let productionBaseURL = "https://api-cm.np6.com"

    /// `api.baseURL`: scheme, host and optional path prefix, without a trailing slash.
    public var baseURL: String
    /// `api.timeoutSeconds`: the longest silence while waiting for or reading a response (an idle
    /// read timeout); connecting may take at most this or 10 s. A body that keeps coming is read
    /// however long it takes.
    public var timeoutSeconds: Int
    /// `api.requestsPerSecond`: the most requests started per second (a token bucket).
    public var requestsPerSecond: Int
    /// `api.maxConcurrentRequests`: the most requests in flight at once.
    public var maxConcurrentRequests: Int
    /// `api.maxAttempts`: how often `sync` tries a contact within one pass when a request
    /// meets a transient fault (5xx, timeout, dropped connection, malformed body, 429); 1 tries once.
    public var maxAttempts: Int
    /// `api.keyFile`: an absolute path to a file holding the API key, or `nil`.
    public var keyFile: String?

    public init(
        baseURL: String = Self.productionBaseURL,
        timeoutSeconds: Int = 30,
        requestsPerSecond: Int = 5,
        maxConcurrentRequests: Int = 4,
        maxAttempts: Int = 5,
        keyFile: String? = nil
    ) {
        self.baseURL = baseURL
        self.timeoutSeconds = timeoutSeconds
        self.requestsPerSecond = requestsPerSecond
        self.maxConcurrentRequests = maxConcurrentRequests
        self.maxAttempts = maxAttempts
        self.keyFile = keyFile
    }

    public var timeout: Duration { .seconds(timeoutSeconds) }
}

extension APIConfiguration {
    static let keys = [
        "baseURL", "timeoutSeconds", "requestsPerSecond", "maxConcurrentRequests", "maxAttempts", "keyFile",
    ]

    /// The message for a key where someone tried to put the API key itself. The value is never
    /// echoed, and no other key is suggested.
    static func misplacedKeyMessage(_ key: String) -> String? {
        let normalized = key.lowercased().filter { $0.isLetter }
        guard ["apikey", "key", "xkey", "token", "apitoken", "secret"].contains(normalized) else { return nil }
        return "the API key is never read from the config file; use api.keyFile, "
            + "\(keyEnvironmentVariable) or the systemd credential \(keyCredentialName)"
    }

    init(decoding fields: ObjectFields, with decoder: ConfigurationDecoder) {
        let defaults = Self()
        self.baseURL =
            decoder.read("baseURL", in: fields) { value, path in
                decoder.httpURL(value, at: path, allowsQuery: false).map { url in
                    var url = Substring(url)
                    while url.hasSuffix("/") { url = url.dropLast() }
                    return String(url)
                }
            } ?? defaults.baseURL
        self.timeoutSeconds =
            decoder.read("timeoutSeconds", in: fields) { decoder.seconds($0, at: $1, minimum: 1) }
            ?? defaults.timeoutSeconds
        self.requestsPerSecond =
            decoder.read("requestsPerSecond", in: fields) { decoder.integer($0, at: $1, in: 1...10_000) }
            ?? defaults.requestsPerSecond
        self.maxConcurrentRequests =
            decoder.read("maxConcurrentRequests", in: fields) { decoder.integer($0, at: $1, in: 1...1_000) }
            ?? defaults.maxConcurrentRequests
        self.maxAttempts =
            decoder.read("maxAttempts", in: fields) { decoder.integer($0, at: $1, in: 1...100) }
            ?? defaults.maxAttempts
        self.keyFile = decoder.read("keyFile", in: fields, nullMeansAbsent: true, decoder.filePath)
    }
}
