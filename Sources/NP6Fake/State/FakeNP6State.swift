/// Everything the fake knows and has done: contacts, events, knobs, request log.
///
/// Tests read it to know what the client should have stored, and change it (knobs, published
/// events) while a client runs. Live events are generated lazily: each access first adds the
/// events that arrived since the previous one.
public actor FakeNP6State {
    /// The configuration the state was made from (its `knobs` are the initial knobs).
    public nonisolated let configuration: FakeNP6Configuration
    /// Every contact, in generation order.
    public let contacts: [FakeContact]
    /// The knobs in force.
    public private(set) var knobs: FakeNP6Knobs

    /// Each contact's events in API order (timestamp, then id), indexed like `contacts`.
    var eventsByContact: [[EventRecord]]
    let indexByID: [String: Int]
    let indexByUnicity: [String: Int]
    let indexByHash: [String: Int]

    var knobRandom: SeededGenerator
    var liveRandom: SeededGenerator
    var addedRandom: SeededGenerator
    /// Live events have been generated up to this time, in ms since 1970.
    var liveGeneratedUntilMs: Int64
    /// The fractional event carried from one live generation to the next.
    var liveCarry: Double = 0
    var rateLimiter: FakeRateLimiter<ContinuousClock.Instant>?
    /// Now, for the rate limiter: `configuration.clock` read as continuous-clock instants.
    let rateLimitNow: @Sendable () -> ContinuousClock.Instant
    /// Now, in ms since 1970, for live events, added events and the request log: the wall
    /// clock when the state was made plus the time `configuration.clock` has moved since, so
    /// that live events arrive as a test moves a manual clock.
    nonisolated let wallNowMs: @Sendable () -> Int64

    var holding = ResponseHolding()
    private var log: [FakeRequest] = []
    /// Requests answered by status code, on the stop-events route.
    public private(set) var statusCounts: [Int: Int] = [:]
    /// Stop-events requests in flight at once per contact, on the stop-events route.
    public nonisolated let requestConcurrency = ContactConcurrency()
    static let logCapacity = 10_000

    /// Generates the contacts and their history from `configuration`.
    public init(configuration: FakeNP6Configuration) {
        let now = currentTimeMs()
        self.configuration = configuration
        self.knobs = configuration.knobs
        let contacts = ContactGenerator(seed: configuration.seed).makeContacts(count: configuration.contactCount)
        self.contacts = contacts
        let endMs = configuration.historyEndMs ?? (now - 60_000)
        let history = HistoryGenerator(
            seed: configuration.seed,
            eventsPerContact: configuration.eventsPerContact,
            startMs: min(configuration.historyStartMs, endMs),
            endMs: endMs
        )
        self.eventsByContact = contacts.indices.map { history.makeEvents(contactIndex: $0) }
        self.indexByID = Dictionary(uniqueKeysWithValues: contacts.enumerated().map { ($1.id, $0) })
        self.indexByUnicity = Dictionary(uniqueKeysWithValues: contacts.enumerated().map { ($1.unicity, $0) })
        self.indexByHash = Dictionary(uniqueKeysWithValues: contacts.enumerated().map { ($1.hash, $0) })
        self.knobRandom = SeededGenerator(seed: configuration.seed, stream: GeneratorStream.knobs)
        self.liveRandom = SeededGenerator(seed: configuration.seed, stream: GeneratorStream.live)
        self.addedRandom = SeededGenerator(seed: configuration.seed, stream: GeneratorStream.added)
        self.liveGeneratedUntilMs = now
        self.rateLimiter = FakeRateLimiter(configuration.knobs)
        self.rateLimitNow = Self.continuousInstants(of: configuration.clock)
        self.wallNowMs = Self.wallMilliseconds(of: configuration.clock, from: now)
    }

    /// Reads `clock` as wall-clock milliseconds: `startMs` plus the time `clock` has moved since.
    private static func wallMilliseconds<C: Clock<Duration>>(of clock: C, from startMs: Int64) -> @Sendable () -> Int64
    {
        let origin = clock.now
        return {
            let moved = origin.duration(to: clock.now).components
            return startMs + moved.seconds * 1000 + moved.attoseconds / 1_000_000_000_000_000
        }
    }

    /// Reads `clock` as instants of the continuous clock (a fixed instant plus the time `clock`
    /// has moved since), so that the rate limiter keeps one instant type whatever the clock.
    private static func continuousInstants<C: Clock<Duration>>(of clock: C) -> @Sendable () -> ContinuousClock.Instant {
        let origin = clock.now
        let base = ContinuousClock.now
        return { base.advanced(by: origin.duration(to: clock.now)) }
    }

    /// The events of a contact (named by its NP6 id) visible now, in API order; empty if unknown.
    public func events(of contactID: String) -> [FakeEvent] {
        advanceLiveEvents()
        guard let index = indexByID[contactID] else { return [] }
        return eventsByContact[index].map { FakeEvent(contact: contacts[index], record: $0) }
    }

    /// Every event visible now, contact by contact, each contact's in API order.
    public func allEvents() -> [FakeEvent] {
        advanceLiveEvents()
        return contacts.indices.flatMap { index in
            eventsByContact[index].map { FakeEvent(contact: contacts[index], record: $0) }
        }
    }

    /// The number of events visible now, without rendering them.
    public func eventCount() -> Int {
        advanceLiveEvents()
        return eventsByContact.reduce(0) { $0 + $1.count }
    }

    /// The contact with this NP6 id, unicity or hash.
    public func contact(matching identifier: String) -> FakeContact? {
        (indexByID[identifier] ?? indexByUnicity[identifier] ?? indexByHash[identifier]).map { contacts[$0] }
    }

    /// Replaces the knobs. Live events up to now are generated at the old rate first.
    public func setKnobs(_ knobs: FakeNP6Knobs) {
        advanceLiveEvents()
        if knobs.rateLimitPerSecond != self.knobs.rateLimitPerSecond || knobs.rateLimitKind != self.knobs.rateLimitKind
            || knobs.rateLimitBurst != self.knobs.rateLimitBurst
        {
            rateLimiter = FakeRateLimiter(knobs)
        }
        self.knobs = knobs
    }

    /// Changes some knobs in place: `await state.updateKnobs { $0.serverErrorRate = 0.5 }`.
    public func updateKnobs(_ change: @Sendable (inout FakeNP6Knobs) -> Void) {
        var knobs = self.knobs
        change(&knobs)
        setKnobs(knobs)
    }

    /// Applies a `POST /_fake/knobs` patch in one step and returns the knobs in force.
    func patchKnobs(_ patch: [String: JSONScalar]) throws(KnobsPatchError) -> FakeNP6Knobs {
        setKnobs(try knobs.patched(with: patch))
        return knobs
    }

    /// Adds events with exactly these timestamps to a contact, visible from now on.
    ///
    /// For tests that need precise data, e.g. one contact with a million events. Ids are drawn
    /// from the seed. Returns the new events, or nothing if no contact has this NP6 id.
    @discardableResult
    public func addEvents(to contactID: String, timestamps: [Int64]) -> [FakeEvent] {
        advanceLiveEvents()
        guard let index = indexByID[contactID] else { return [] }
        let now = wallNowMs()
        var added: [EventRecord] = []
        added.reserveCapacity(timestamps.count)
        for timestamp in timestamps {
            added.append(EventRecord(timestampMs: timestamp, arrivedMs: now, random: &addedRandom))
        }
        eventsByContact[index].append(contentsOf: added)
        eventsByContact[index].sort(by: EventRecord.apiOrder)
        return added.map { FakeEvent(contact: contacts[index], record: $0) }
    }

    /// Recent stop-events requests, oldest first (about the last 10,000).
    public var requestLog: [FakeRequest] { log }

    func record(_ request: FakeRequest) {
        statusCounts[request.status, default: 0] += 1
        log.append(request)
        if log.count >= Self.logCapacity + Self.logCapacity / 5 {
            log.removeFirst(log.count - Self.logCapacity)
        }
    }

    /// The index of the contact a query names.
    func contactIndex(for key: StopEventsQuery.ContactKey) -> Int? {
        switch key {
        case .id(let id): indexByID[id]
        case .unicity(let unicity): indexByUnicity[unicity]
        case .hash(let hash): indexByHash[hash]
        }
    }
}
