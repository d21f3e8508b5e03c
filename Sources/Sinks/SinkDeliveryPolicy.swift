/// The timing of sink delivery loops: how they wait for new events and back off on failures.
///
/// Pure: the delay is a function of the failure count, the receiver's `Retry-After` and a
/// random draw, so tests pin it without sleeping.
public struct SinkDeliveryPolicy: Sendable, Hashable {
    /// How often a caught-up loop looks for new events when nothing wakes it
    /// (``SinkSupervisor/eventsStored()`` does, at once).
    public var pollInterval: Duration
    /// The first retry delay after a transient failure; it doubles per consecutive failure.
    public var backoffBase: Duration
    /// Backoff never waits longer than this.
    public var backoffCap: Duration
    /// The longest pause a receiver's `Retry-After` can impose.
    public var retryAfterCap: Duration
    /// In ``SinkSupervisor/drainOnce()``: how many attempts a batch gets before the sink is
    /// reported failed, and the longest wait between two of them.
    public var drainAttempts: Int
    public var drainMaxDelay: Duration

    public init(
        pollInterval: Duration = .seconds(1),
        backoffBase: Duration = .seconds(1),
        backoffCap: Duration = .seconds(300),
        retryAfterCap: Duration = .seconds(3600),
        drainAttempts: Int = 3,
        drainMaxDelay: Duration = .seconds(30)
    ) {
        self.pollInterval = pollInterval
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
        self.retryAfterCap = retryAfterCap
        self.drainAttempts = max(1, drainAttempts)
        self.drainMaxDelay = drainMaxDelay
    }

    /// The wait before the next attempt after `failures` consecutive transient failures (1 or more).
    ///
    /// Exponential, with jitter in the upper half of the nominal delay (never sooner than half
    /// of it), so that sinks failing together do not retry together; at least `retryAfter`
    /// (capped by ``retryAfterCap``) when the receiver asked for a pause.
    ///
    /// - Parameter random: a uniform draw in `0..<1`.
    public func retryDelay(afterFailures failures: Int, retryAfter: Duration?, random: Double) -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        let nominal = min(backoffCap, backoffBase * (1 << exponent))
        let jittered = nominal / 2 + (nominal / 2) * min(max(random, 0), 1)
        guard let retryAfter else { return jittered }
        return max(jittered, min(max(retryAfter, .zero), retryAfterCap))
    }
}
