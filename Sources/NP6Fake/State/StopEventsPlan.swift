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
    var rateLimit: RateLimitDecision?
    /// Delay before the response head.
    var latencyMs: Int
    /// The request counted as in flight for its contact until its body is written; `nil` when
    /// it names no known contact.
    var inFlight: ContactConcurrency.InFlightRequest? = nil
}
