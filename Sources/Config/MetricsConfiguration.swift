import NP6Model

/// The Prometheus endpoint: the `metrics` object of the config file. Absent means no endpoint.
public struct MetricsConfiguration: Sendable, Hashable {
    /// `metrics.listen` as written, e.g. `127.0.0.1:9464` or `[::1]:9464`.
    public var listen: String
    /// The address to bind, without brackets: `127.0.0.1`, `::1`, `0.0.0.0`.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
        self.listen = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension MetricsConfiguration {
    static let keys = ["listen"]

    /// `nil`, reported, when `listen` is missing or malformed.
    init?(decoding fields: ObjectFields, with decoder: ConfigurationDecoder) {
        let path = fields.path.appending("listen")
        guard fields["listen"] != nil else {
            decoder.report(path, "required when metrics is present, e.g. \"127.0.0.1:9464\"")
            return nil
        }
        guard let parsed = decoder.read("listen", in: fields, Self.listenAddress(with: decoder)) else { return nil }
        self = parsed
    }

    private static func listenAddress(
        with decoder: ConfigurationDecoder
    ) -> (JSONValue, ConfigurationKeyPath) -> MetricsConfiguration? {
        { value, path in
            guard let text = decoder.nonEmptyString(value, at: path) else { return nil }
            guard let (host, port) = ConfigurationDecoder.splitHostAndPort(Substring(text)), let port,
                !host.isEmpty, ConfigurationDecoder.isValidHost(host)
            else {
                decoder.report(
                    path,
                    "expected HOST:PORT such as \"127.0.0.1:9464\" or \"[::1]:9464\", got \(quoted(text))"
                )
                return nil
            }
            guard let number = ConfigurationDecoder.parsePort(port) else {
                decoder.report(path, "the port must be between 1 and 65535, got \(quoted(port))")
                return nil
            }
            var configuration = MetricsConfiguration(host: String(host), port: number)
            configuration.listen = text
            return configuration
        }
    }
}
