/// What the daemon logs and how: the `logging` object of the config file.
public struct LoggingConfiguration: Sendable, Hashable {
    /// The swift-log levels, by their raw names (`Logger.Level(rawValue:)` reads them).
    public enum Level: String, Sendable, Hashable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    /// One line per record, either way.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// `level=info msg="cycle finished" contacts=12`
        case logfmt
        /// `{"level":"info","msg":"cycle finished","contacts":12}`
        case json
    }

    /// `logging.level`: the least severe level written.
    public var level: Level
    /// `logging.format`.
    public var format: Format

    public init(level: Level = .info, format: Format = .logfmt) {
        self.level = level
        self.format = format
    }
}

extension LoggingConfiguration {
    static let keys = ["level", "format"]

    init(decoding fields: ObjectFields, with decoder: ConfigurationDecoder) {
        let defaults = Self()
        self.level = decoder.read("level", in: fields, decoder.choice) ?? defaults.level
        self.format = decoder.read("format", in: fields, decoder.choice) ?? defaults.format
    }
}
