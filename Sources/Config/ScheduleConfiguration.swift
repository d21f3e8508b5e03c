import NP6Model

/// How often each contact is polled: the `schedule` object of the config file.
public struct ScheduleConfiguration: Sendable, Hashable {
    /// `schedule.intervalSeconds`: the time between two polls of one contact.
    public var intervalSeconds: Int
    /// `schedule.jitterSeconds`: a random delay of up to this much added to each due time, so
    /// contacts added together do not stay in lockstep. At most `intervalSeconds`.
    public var jitterSeconds: Int
    /// `schedule.notFoundRecheckSeconds`: how long a contact the API does not know (404) waits
    /// before it is asked for again.
    public var notFoundRecheckSeconds: Int

    /// The jitter when none is set: 30 s, but never more than the interval, so that any valid
    /// `intervalSeconds` set alone is a valid schedule.
    public static func defaultJitterSeconds(intervalSeconds: Int) -> Int {
        min(30, max(0, intervalSeconds))
    }

    /// - Parameter jitterSeconds: `nil` for ``defaultJitterSeconds(intervalSeconds:)``.
    public init(intervalSeconds: Int = 300, jitterSeconds: Int? = nil, notFoundRecheckSeconds: Int = 86_400) {
        self.intervalSeconds = intervalSeconds
        self.jitterSeconds = jitterSeconds ?? Self.defaultJitterSeconds(intervalSeconds: intervalSeconds)
        self.notFoundRecheckSeconds = notFoundRecheckSeconds
    }

    public var interval: Duration { .seconds(intervalSeconds) }
    public var jitter: Duration { .seconds(jitterSeconds) }
    public var notFoundRecheck: Duration { .seconds(notFoundRecheckSeconds) }
}

extension ScheduleConfiguration {
    static let keys = ["intervalSeconds", "jitterSeconds", "notFoundRecheckSeconds"]

    init(decoding fields: ObjectFields, with decoder: ConfigurationDecoder) {
        let defaults = Self()
        let interval = decoder.read("intervalSeconds", in: fields) { decoder.seconds($0, at: $1, minimum: 1) }
        let jitter = decoder.read("jitterSeconds", in: fields) { decoder.seconds($0, at: $1, minimum: 0) }
        self.intervalSeconds = interval ?? defaults.intervalSeconds
        // A default that depends on another key follows it, so that it fits every valid value
        // the user gives that key; only a jitter the user set can be at fault.
        self.jitterSeconds = jitter ?? Self.defaultJitterSeconds(intervalSeconds: intervalSeconds)
        self.notFoundRecheckSeconds =
            decoder.read("notFoundRecheckSeconds", in: fields) { decoder.seconds($0, at: $1, minimum: 1) }
            ?? defaults.notFoundRecheckSeconds

        if jitter != nil, jitterSeconds > intervalSeconds {
            let interval = interval == nil ? "its default \(intervalSeconds)" : "\(intervalSeconds)"
            decoder.report(
                fields.path.appending("jitterSeconds"),
                "must not exceed schedule.intervalSeconds (\(interval)), got \(jitterSeconds)"
            )
        }
    }
}
