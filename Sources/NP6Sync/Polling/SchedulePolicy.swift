import NP6Client

/// When a contact is due again after a poll (`schedule.*` in the configuration), in milliseconds.
public struct SchedulePolicy: Sendable, Hashable {
    public var intervalMs: Int64
    public var jitterMs: Int64
    public var notFoundRecheckMs: Int64
    /// The first retry delay after a transient fault; it doubles per consecutive failure.
    public var backoffBaseMs: Int64
    /// Backoff never waits longer than this.
    public var backoffCapMs: Int64

    public init(
        intervalMs: Int64 = 300_000,
        jitterMs: Int64 = 30_000,
        notFoundRecheckMs: Int64 = 86_400_000,
        backoffBaseMs: Int64 = 30_000,
        backoffCapMs: Int64 = 3_600_000
    ) {
        self.intervalMs = intervalMs
        self.jitterMs = jitterMs
        self.notFoundRecheckMs = notFoundRecheckMs
        self.backoffBaseMs = backoffBaseMs
        self.backoffCapMs = backoffCapMs
    }

    /// The longest a contact waits for its next poll after a success or a failure (not a 404,
    /// see `notFoundRecheckMs`, nor a 429, whose wait the API sets).
    public var longestWaitMs: Int64 {
        max(intervalMs + jitterMs, backoffCapMs)
    }

    /// The next due time of a contact whose poll ended with `result` at `nowMs`.
    ///
    /// - Parameters:
    ///   - failuresBefore: the contact's consecutive failures before this poll.
    ///   - random: a uniform draw in `0..<1`, so tests can pin the jitter.
    public func nextDueMs(after result: PollResult, failuresBefore: Int, nowMs: Int64, random: Double) -> Int64 {
        switch result {
        case .caughtUp:
            return nowMs + intervalMs + Int64(Double(jitterMs) * random)
        case .notFound:
            return nowMs + notFoundRecheckMs
        case .rateLimited(let info):
            return max(info?.pauseUntilMs ?? 0, nowMs + backoffBaseMs)
        case .unauthorized:
            return nowMs + intervalMs
        case .failed, .databaseFailed:
            // Exponential with "full jitter" in its upper half: spreads retries of many failing
            // contacts without ever retrying sooner than half the nominal delay.
            let exponent = min(max(failuresBefore, 0), 30)
            let nominal = min(backoffCapMs, backoffBaseMs << Int64(exponent))
            return nowMs + nominal / 2 + Int64(Double(nominal / 2) * random)
        }
    }
}
