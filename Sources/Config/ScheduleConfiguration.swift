import NP6Model

/// How often each contact is polled: the `schedule` object of the config file.
public struct ScheduleConfiguration: Sendable, Hashable {
    /// `schedule.intervalSeconds`: the time between two polls of one contact.
    public var intervalSeconds: Int
    /// `schedule.jitterSeconds`: a random delay of up to this much added to each due time, so
    /// contacts added together do not stay in lockstep.
    public var jitterSeconds: Int
    /// `schedule.notFoundRecheckSeconds`: how long a contact the API does not know (404) waits
    /// before it is asked for again.
    public var notFoundRecheckSeconds: Int

    public init(intervalSeconds: Int = 300, jitterSeconds: Int = 30, notFoundRecheckSeconds: Int = 86_400) {
        self.intervalSeconds = intervalSeconds
        self.jitterSeconds = jitterSeconds
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
        self.jitterSeconds = jitter ?? defaults.jitterSeconds
        self.notFoundRecheckSeconds =
            decoder.read("notFoundRecheckSeconds", in: fields) { decoder.seconds($0, at: $1, minimum: 1) }
            ?? defaults.notFoundRecheckSeconds

        if interval != nil || jitter != nil, jitterSeconds > intervalSeconds {
            decoder.report(
                fields.path.appending("jitterSeconds"),
                "must not exceed schedule.intervalSeconds (\(intervalSeconds)), got \(jitterSeconds)"
            )
        }
    }
}
