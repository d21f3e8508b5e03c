import NP6Model

/// Which time ranges a poll requests: the `sync` object of the config file.
public struct SyncWindowConfiguration: Sendable, Hashable {
    /// `sync.initialStart` in milliseconds since 1970: where a contact never synced before starts.
    /// 0, the default, reads every stop ever recorded.
    public var initialStartMs: Int64
    /// `sync.lookbackSeconds`: how far before the watermark each poll re-reads, for late events.
    /// At least ``minimumLookbackSeconds``.
    public var lookbackSeconds: Int
    /// `sync.maxWindowSeconds`: the longest range one request covers; a longer gap is sliced.
    /// 0 means no limit.
    public var maxWindowSeconds: Int
    /// `sync.checkApiOnStart`: the daemon runs the `check-api` checks once at start and logs a
    /// failed one as an error (it never stops because of them).
    public var checkApiOnStart: Bool

    public init(
        initialStartMs: Int64 = 0, lookbackSeconds: Int = 900, maxWindowSeconds: Int = 0, checkApiOnStart: Bool = true
    ) {
        self.initialStartMs = initialStartMs
        self.lookbackSeconds = lookbackSeconds
        self.maxWindowSeconds = maxWindowSeconds
        self.checkApiOnStart = checkApiOnStart
    }

    public var lookback: Duration { .seconds(lookbackSeconds) }
    /// `nil` when windows are unlimited.
    public var maxWindow: Duration? { maxWindowSeconds == 0 ? nil : .seconds(maxWindowSeconds) }
}

extension SyncWindowConfiguration {
    static let keys = ["initialStart", "lookbackSeconds", "maxWindowSeconds", "checkApiOnStart"]

    /// The smallest `sync.lookbackSeconds`: the clock skew np6-sync tolerates between this host and
    /// the API before it caps watermarks at the API's time (`ClockSkewGuard.boundMs` is this). A
    /// skew within the bound moves a watermark up to that far past the API's time, and only a
    /// lookback at least as long re-reads what was published meanwhile.
    public static let minimumLookbackSeconds = 10

    init(decoding fields: ObjectFields, with decoder: ConfigurationDecoder) {
        let defaults = Self()
        self.initialStartMs =
            decoder.read("initialStart", in: fields) { Self.initialStart($0, at: $1, with: decoder) }
            ?? defaults.initialStartMs
        self.lookbackSeconds =
            decoder.read("lookbackSeconds", in: fields) { value, path in
                guard let seconds = decoder.seconds(value, at: path, minimum: 0) else { return nil }
                guard seconds >= Self.minimumLookbackSeconds else {
                    decoder.report(
                        path,
                        "must be at least \(Self.minimumLookbackSeconds), the clock skew tolerated between this "
                            + "host and the API (a shorter lookback could miss events published meanwhile), got \(seconds)"
                    )
                    return nil
                }
                return seconds
            }
            ?? defaults.lookbackSeconds
        // Any limit makes progress: a poll applies the lookback once, then walks window after window.
        self.maxWindowSeconds =
            decoder.read("maxWindowSeconds", in: fields) { decoder.seconds($0, at: $1, minimum: 0) }
            ?? defaults.maxWindowSeconds
        self.checkApiOnStart = decoder.read("checkApiOnStart", in: fields, decoder.bool) ?? defaults.checkApiOnStart
    }

    /// Milliseconds below this are almost surely seconds written where milliseconds are expected
    /// (it is 1973-03-03): NP6 has no events that old.
    private static let smallestPlausibleMilliseconds: Int64 = 100_000_000_000

    private static func initialStart(
        _ value: JSONValue,
        at path: ConfigurationKeyPath,
        with decoder: ConfigurationDecoder
    ) -> Int64? {
        let milliseconds: Int64
        switch value {
        case .number(let literal):
            guard let integer = value.int64Value else {
                decoder.report(path, "expected integer milliseconds or an ISO-8601 date, got \(literal)")
                return nil
            }
            if integer > 0, integer < smallestPlausibleMilliseconds {
                decoder.report(
                    path,
                    "\(integer) milliseconds is \(Timestamp.iso8601(milliseconds: integer)); "
                        + "if you meant seconds, write \(integer * 1000)"
                )
                return nil
            }
            milliseconds = integer
        case .string(let text):
            guard let parsed = Timestamp.parseMilliseconds(text) else {
                decoder.report(
                    path,
                    "expected an ISO-8601 date such as \"2021-02-23T14:13:02Z\" or \"2021-02-23\", "
                        + "or integer milliseconds, got \(quoted(text))"
                )
                return nil
            }
            milliseconds = parsed
        default:
            decoder.report(path, "expected an ISO-8601 date string or integer milliseconds, found \(value.typeName)")
            return nil
        }
        guard milliseconds >= 0 else {
            decoder.report(path, "must not be before 1970-01-01T00:00:00Z, got \(milliseconds) ms")
            return nil
        }
        return milliseconds
    }
}
