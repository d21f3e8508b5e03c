/// What the fake NP6 API serves: its contacts, their historical events, its key and its knobs.
///
/// The same `seed` (with the same history bounds) always gives the same contacts and events.
/// ```swift
/// let configuration = FakeNP6Configuration(seed: 7, contactCount: 10, eventsPerContact: 2...5)
/// ```
public struct FakeNP6Configuration: Sendable {
    /// Seed of every deterministic choice: contacts, event counts, event ids, timestamps, details.
    public var seed: UInt64
    /// Number of contacts the fake knows.
    public var contactCount: Int
    /// Historical events per contact, each count drawn from `seed` in this range.
    public var eventsPerContact: ClosedRange<Int>
    /// The value `X-Key` must carry.
    public var apiKey: String
    /// Earliest historical event timestamp, in ms since 1970. Default: two years before now.
    public var historyStartMs: Int64
    /// Latest historical event timestamp, in ms since 1970. `nil` means one minute before the
    /// state is created; set it (with `historyStartMs`) for timestamps that do not depend on now.
    public var historyEndMs: Int64?
    /// Fault and traffic knobs; tests change them at run time with ``FakeNP6State/setKnobs(_:)``.
    public var knobs: FakeNP6Knobs
    /// What the rate limit's one-second windows and the arrival of live events are measured
    /// on: the continuous clock, or a manual one in tests that must not depend on how fast a
    /// busy machine sends requests.
    public var clock: any Clock<Duration> = ContinuousClock()

    public init(
        seed: UInt64 = 1,
        contactCount: Int = 50,
        eventsPerContact: ClosedRange<Int> = 0...3,
        apiKey: String = "fake-np6-key",
        historyStartMs: Int64 = currentTimeMs() - 2 * 365 * 86_400_000,
        historyEndMs: Int64? = nil,
        knobs: FakeNP6Knobs = .init()
    ) {
        self.seed = seed
        self.contactCount = contactCount
        self.eventsPerContact = eventsPerContact
        self.apiKey = apiKey
        self.historyStartMs = historyStartMs
        self.historyEndMs = historyEndMs
        self.knobs = knobs
    }
}
