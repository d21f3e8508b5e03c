/// The window `[startMs, endMs)` of one request, and how a poll walks from a watermark to now.
///
/// The first window of a poll starts at `max(initialStart, watermark - lookback)`: the lookback
/// re-reads the recent past for events published late. It ends at `now`, or `maxWindow` later
/// when the gap is longer, and later windows of the same poll start where the previous one ended
/// (the lookback is applied once per poll, so any `maxWindow` makes progress).
public struct SyncWindow: Sendable, Hashable, CustomStringConvertible {
    public var startMs: Int64
    public var endMs: Int64

    public init(startMs: Int64, endMs: Int64) {
        self.startMs = startMs
        self.endMs = endMs
    }

    /// The first window of a poll at `nowMs`; `nil` when there is nothing to ask for (a watermark
    /// or initial start in the future).
    public static func first(
        watermarkMs: Int64?,
        nowMs: Int64,
        policy: WindowPolicy
    ) -> SyncWindow? {
        let start: Int64
        if let watermarkMs {
            let (lookedBack, overflow) = watermarkMs.subtractingReportingOverflow(policy.lookbackMs)
            start = max(policy.initialStartMs, overflow ? Int64.min : lookedBack)
        } else {
            start = policy.initialStartMs
        }
        return window(from: start, nowMs: nowMs, policy: policy)
    }

    /// The window after this one, `nil` once this one reached `nowMs`.
    public func next(nowMs: Int64, policy: WindowPolicy) -> SyncWindow? {
        endMs < nowMs ? Self.window(from: endMs, nowMs: nowMs, policy: policy) : nil
    }

    private static func window(from startMs: Int64, nowMs: Int64, policy: WindowPolicy) -> SyncWindow? {
        guard startMs < nowMs else { return nil }
        var end = nowMs
        if policy.maxWindowMs > 0, nowMs - startMs > policy.maxWindowMs {
            end = startMs + policy.maxWindowMs
        }
        return SyncWindow(startMs: startMs, endMs: end)
    }

    public var description: String { "[\(startMs), \(endMs))" }
}
