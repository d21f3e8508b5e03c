/// Run-time behaviour of the fake: latency, rate limit, faults, and live event traffic.
///
/// Rates are fractions of responses (or of elements) in `0...1`, drawn from a generator seeded
/// by the configuration's seed.
public struct FakeNP6Knobs: Sendable, Hashable, Codable {
    /// Delay before the response head of every API request, in ms.
    public var latencyMs: Int
    /// Requests allowed per second; `nil` turns rate limiting (and its headers) off.
    public var rateLimitPerSecond: Int?
    /// How the limit is kept: a fixed 1-second window (Remaining resets at Reset) or a token
    /// bucket (Remaining is the tokens left, Reset when the bucket is full again).
    public var rateLimitKind: RateLimitKind
    /// The token bucket's capacity (its burst); `nil`: one second's worth.
    public var rateLimitBurst: Int?

    public enum RateLimitKind: String, Sendable, Hashable, Codable, CaseIterable {
        case fixedWindow
        case tokenBucket
    }
    /// Fraction of API requests answered `500` or `503`.
    public var serverErrorRate: Double
    /// Fraction of the elements of a `200` body replaced by a bad element (missing `id`,
    /// `timestamp` as a string, or broken JSON).
    public var malformedElementRate: Double
    /// Fraction of `200` responses whose body is not a JSON array (an HTML page or a JSON object).
    public var garbageBodyRate: Double
    /// Fraction of `200` responses cut off about half-way by closing the connection.
    public var dropConnectionRate: Double
    /// Live events arriving per second while the fake runs, on random existing contacts.
    public var liveEventsPerSecond: Double
    /// Fraction of live events that arrive late: their timestamp is in the past.
    public var lateFraction: Double
    /// How far in the past a late event's timestamp can be, in ms.
    public var lateByMs: Int64
    /// Fraction of `sort=asc` responses sent in a random order anyway (an API bug to survive).
    public var unsortedBodyRate: Double
    /// Fraction of the elements of a `200` body sent twice in a row (the same event id twice).
    public var duplicateElementRate: Double
    /// Fraction of `sort=asc` responses that look sorted for a quarter of their body (events
    /// from the middle of the range) and then go back in time to the earliest ones: an API bug
    /// found only after batches were checkpointed.
    public var backInTimeBodyRate: Double
    /// Read integer `start` / `end` as seconds, not milliseconds (an API whose unit differs:
    /// `check-api` must catch it).
    public var integerBoundsAsSeconds: Bool
    /// Include events stamped exactly at `end` (an API whose `end` is inclusive).
    public var endInclusive: Bool
    /// A pause this long, once, about half-way through every `200` body of events, in ms
    /// (a server that stalls mid-body).
    public var bodyStallMs: Int
    /// A pause this long before each element of a `200` body of events, each element sent on its
    /// own, in ms (a server that trickles a body: slow overall, never silent for long).
    public var bodyTrickleMs: Int
    /// Fraction of `200` responses pretty-printed: the array and each element over several
    /// indented lines, as a JSON library's pretty printer writes them (legal JSON that a
    /// line-based consumer must not choke on).
    public var prettyBodyRate: Double

    public init(
        latencyMs: Int = 0,
        rateLimitPerSecond: Int? = nil,
        rateLimitKind: RateLimitKind = .fixedWindow,
        rateLimitBurst: Int? = nil,
        serverErrorRate: Double = 0,
        malformedElementRate: Double = 0,
        garbageBodyRate: Double = 0,
        dropConnectionRate: Double = 0,
        liveEventsPerSecond: Double = 0,
        lateFraction: Double = 0,
        lateByMs: Int64 = 600_000,
        unsortedBodyRate: Double = 0,
        duplicateElementRate: Double = 0,
        backInTimeBodyRate: Double = 0,
        integerBoundsAsSeconds: Bool = false,
        endInclusive: Bool = false,
        bodyStallMs: Int = 0,
        bodyTrickleMs: Int = 0,
        prettyBodyRate: Double = 0
    ) {
        self.latencyMs = latencyMs
        self.rateLimitPerSecond = rateLimitPerSecond
        self.rateLimitKind = rateLimitKind
        self.rateLimitBurst = rateLimitBurst
        self.serverErrorRate = serverErrorRate
        self.malformedElementRate = malformedElementRate
        self.garbageBodyRate = garbageBodyRate
        self.dropConnectionRate = dropConnectionRate
        self.liveEventsPerSecond = liveEventsPerSecond
        self.lateFraction = lateFraction
        self.lateByMs = lateByMs
        self.unsortedBodyRate = unsortedBodyRate
        self.duplicateElementRate = duplicateElementRate
        self.backInTimeBodyRate = backInTimeBodyRate
        self.integerBoundsAsSeconds = integerBoundsAsSeconds
        self.endInclusive = endInclusive
        self.bodyStallMs = bodyStallMs
        self.bodyTrickleMs = bodyTrickleMs
        self.prettyBodyRate = prettyBodyRate
    }
}

extension FakeNP6Knobs {
    /// These knobs with the fields present in a JSON object replaced (`null` clears the rate limit).
    ///
    /// Used by `POST /_fake/knobs`, so a benchmark driving the fake as a process can change one
    /// knob without restating the others.
    func patched(with object: [String: JSONScalar]) throws(KnobsPatchError) -> FakeNP6Knobs {
        var knobs = self
        for (key, value) in object {
            switch (key, value) {
            case ("latencyMs", .number(let number)): knobs.latencyMs = Int(number)
            case ("rateLimitPerSecond", .number(let number)): knobs.rateLimitPerSecond = Int(number)
            case ("rateLimitPerSecond", .null): knobs.rateLimitPerSecond = nil
            case ("rateLimitKind", .string(let kind)):
                guard let kind = RateLimitKind(rawValue: kind) else { throw KnobsPatchError(key: key) }
                knobs.rateLimitKind = kind
            case ("rateLimitBurst", .number(let number)): knobs.rateLimitBurst = Int(number)
            case ("rateLimitBurst", .null): knobs.rateLimitBurst = nil
            case ("serverErrorRate", .number(let number)): knobs.serverErrorRate = number
            case ("malformedElementRate", .number(let number)): knobs.malformedElementRate = number
            case ("garbageBodyRate", .number(let number)): knobs.garbageBodyRate = number
            case ("dropConnectionRate", .number(let number)): knobs.dropConnectionRate = number
            case ("liveEventsPerSecond", .number(let number)): knobs.liveEventsPerSecond = number
            case ("lateFraction", .number(let number)): knobs.lateFraction = number
            case ("lateByMs", .number(let number)): knobs.lateByMs = Int64(number)
            case ("unsortedBodyRate", .number(let number)): knobs.unsortedBodyRate = number
            case ("duplicateElementRate", .number(let number)): knobs.duplicateElementRate = number
            case ("backInTimeBodyRate", .number(let number)): knobs.backInTimeBodyRate = number
            case ("integerBoundsAsSeconds", .bool(let flag)): knobs.integerBoundsAsSeconds = flag
            case ("endInclusive", .bool(let flag)): knobs.endInclusive = flag
            case ("bodyStallMs", .number(let number)): knobs.bodyStallMs = Int(number)
            case ("bodyTrickleMs", .number(let number)): knobs.bodyTrickleMs = Int(number)
            case ("prettyBodyRate", .number(let number)): knobs.prettyBodyRate = number
            default: throw KnobsPatchError(key: key)
            }
        }
        return knobs
    }
}
