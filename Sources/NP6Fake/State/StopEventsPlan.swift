/// What to answer to one stop-events request, decided by the state in one step.
///
/// The decision (status, faults, the snapshot of events) is made under the actor; the body is
/// then streamed outside it, so a million-event response does not block other requests.
struct StopEventsPlan: Sendable {
    enum Body: Sendable {
        /// A small JSON error object `{"error": code, "message": message}`.
        case error(code: String, message: String)
        /// A `200` whose body is not a JSON array.
        case garbage(GarbageBody)
        /// A `200` with the contact's events.
        case events(EventStreamPlan)
    }

    var status: Int
    var body: Body
    /// Present when rate limiting is on: the `X-RateLimit-*` (and, on a 429, `Retry-After`) headers.
    var rateLimit: FixedWindowRateLimiter<ContinuousClock.Instant>.Decision?
    /// Delay before the response head.
    var latencyMs: Int
}

/// The non-array bodies a broken proxy or API sends with a `200`.
enum GarbageBody: Sendable, CaseIterable {
    case htmlPage
    case jsonObject
}

/// The events of one response and how to mangle them.
struct EventStreamPlan: Sendable {
    enum Order: Sendable, Equatable {
        case ascending
        case descending
        /// A random order drawn from this seed.
        case shuffled(seed: UInt64)
    }

    var contact: FakeContact
    /// A snapshot of the matching events in API order (copy-on-write: no copy is made).
    var records: ArraySlice<EventRecord>
    var order: Order
    var malformedElementRate: Double
    var duplicateElementRate: Double
    var malformedSeed: UInt64
    /// Close the connection after about half the body.
    var dropHalfway: Bool
}

/// One stop-events request as the state needs it.
struct StopEventsRequest: Sendable {
    var apiKey: String?
    var query: Result<StopEventsQuery, StopEventsQueryError>
    /// What the request log keeps: the decoded parameters.
    var loggedQuery: [String: String]
}
