import Config
import Logging
import NP6Client
import NP6Model
import SyncStore
import Synchronization

/// Keeps a wrong local clock from losing events.
///
/// Window ends come from the local clock. A clock ahead of the API's would move watermarks into
/// the API's future, and the events published until the API's clock reaches them would never be
/// asked for. The guard compares each response's `Date` header with the local clock
/// (``ServerDate``); past ``boundMs`` it logs an error, and a response to a request sent at local
/// time `t` justifies a watermark up to `t − skew` only (the API's time when the request left,
/// never overestimated: see ``ServerDate/skewMs``). The skew is exported as
/// `np6sync_clock_skew_seconds`.
///
/// On the first answer of the process, and when the clocks agree again after a skew, it brings
/// back what a clock that was ahead left in the database (`PollWriteStore.bringBackFutureTimes`).
/// A poller that meets a watermark in the future (of the local clock, or of the API's once an
/// answer told it) has it brought back before it computes its window, so a database left by a
/// clock that was ahead is repaired even when no request would otherwise be made.
public final class ClockSkewGuard: Sendable {
    /// Skews up to this are normal (the header's 1 s resolution, transit) and covered by the
    /// lookback, which the config keeps at least this long; beyond it the watermark is capped at
    /// the API's time and an error logged.
    public static let boundMs = Int64(SyncWindowConfiguration.minimumLookbackSeconds) * 1_000

    let database: any PollWriteStore
    /// The longest a contact legitimately waits for its next poll (`not_found` ones:
    /// `notFoundRecheckMs`): due times later than this after the API's time were set by a clock
    /// that was ahead.
    let longestWaitMs: Int64
    let notFoundRecheckMs: Int64
    let logger: Logger
    let onSkew: @Sendable (_ seconds: Double) -> Void

    private struct State {
        var latest: ServerDate?
        var skewed = false
        /// Whether the watermarks in the future were brought back since the process started.
        var watermarksBroughtBack = false
    }

    private let state = Mutex(State())

    /// - Parameters:
    ///   - schedule: how long contacts wait for their next poll.
    ///   - onSkew: the measured skew in seconds, for the gauge.
    public init(
        database: any PollWriteStore,
        schedule: SchedulePolicy,
        logger: Logger,
        onSkew: @escaping @Sendable (_ seconds: Double) -> Void = { _ in }
    ) {
        self.database = database
        self.longestWaitMs = schedule.longestWaitMs
        self.notFoundRecheckMs = schedule.notFoundRecheckMs
        self.logger = logger
        self.onSkew = onSkew
    }

    /// The last measured skew (local minus API) in ms; `nil` before the first answer.
    public var skewMs: Int64? { state.withLock { $0.latest?.skewMs } }

    /// Takes in the `Date` of the response to a request sent at local time `requestSentMs`.
    ///
    /// - Returns: the latest watermark that response can justify when the local clock is ahead
    ///   by more than ``boundMs``; `nil` when the window's end can be used as it is.
    public func observe(_ date: ServerDate, requestSentMs: Int64) async -> Int64? {
        let skew = date.skewMs
        let skewed = abs(skew) > Self.boundMs
        let (first, changed) = state.withLock { state in
            defer {
                state.latest = date
                state.skewed = skewed
            }
            return (state.latest == nil, state.skewed != skewed)
        }
        onSkew(Double(skew) / 1000)
        if skewed, first || changed {
            logger.error(
                "The local clock differs from the API's: watermarks are capped at the API's time",
                metadata: [
                    "clock.skew_seconds": "\(Double(skew) / 1000)", "clock.bound_seconds": "\(Self.boundMs / 1000)",
                    "api.date": "\(Timestamp.iso8601(milliseconds: date.dateMs))",
                ])
        } else if changed {
            logger.notice(
                "The local clock agrees with the API's again",
                metadata: ["clock.skew_seconds": "\(Double(skew) / 1000)"])
        }
        if first || (changed && !skewed) {
            // The scheduler runs on the local clock: due times are brought back only when it is right.
            await bringBackFutureTimes(serverNowMs: date.dateMs, dueTimesToo: !skewed)
        }
        return skew > Self.boundMs ? requestSentMs - skew : nil
    }

    /// Whether `watermarkMs` lies more than ``boundMs`` in the future of the local clock, or of
    /// the API's as far as the last answer tells: only a clock that was ahead can have written it.
    public func isInTheFuture(_ watermarkMs: Int64?, localNowMs: Int64) -> Bool {
        guard let watermarkMs else { return false }
        return watermarkMs > min(localNowMs, serverNowMs(localNowMs: localNowMs) ?? localNowMs) + Self.boundMs
    }

    /// The API's time by the last answer's measure; `nil` before the first answer.
    func serverNowMs(localNowMs: Int64) -> Int64? {
        skewMs.map { localNowMs - $0 }
    }

    /// Brings back the watermarks (and, with `dueTimesToo`, the due times) that lie in the API's
    /// future, once the writes queued so far are committed. A failure is logged: the next answer
    /// that needs it tries again.
    public func bringBackFutureTimes(serverNowMs: Int64, dueTimesToo: Bool) async {
        await database.flushWrites()
        do {
            let changed = try await database.bringBackFutureTimes(
                watermarksAfterMs: serverNowMs + Self.boundMs,
                dueTimesAfterMs: dueTimesToo ? serverNowMs + longestWaitMs : nil,
                notFoundDueTimesAfterMs: serverNowMs + notFoundRecheckMs,
                toMs: serverNowMs)
            state.withLock { $0.watermarksBroughtBack = true }
            if changed > 0 {
                logger.notice(
                    "Brought back watermarks and due times that lay in the API's future",
                    metadata: ["contacts": "\(changed)", "api.date": "\(Timestamp.iso8601(milliseconds: serverNowMs))"])
            }
        } catch {
            logger.error("Could not bring back times in the API's future", metadata: ["error": "\(error)"])
        }
    }

    /// Brings back the watermarks in the future (see ``isInTheFuture(_:localNowMs:)``), once per
    /// process: later calls find them brought back already.
    func bringBackFutureWatermarks(localNowMs: Int64) async {
        guard !state.withLock({ $0.watermarksBroughtBack }) else { return }
        let now = min(localNowMs, serverNowMs(localNowMs: localNowMs) ?? localNowMs)
        await bringBackFutureTimes(serverNowMs: now, dueTimesToo: false)
    }
}
