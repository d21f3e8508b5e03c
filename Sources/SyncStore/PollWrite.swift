import NP6Model

/// One write a poll makes. Each keeps the watermark invariant on its own: every event before the
/// watermark it sets is stored by it or by an earlier write of the same contact.
public enum PollWrite: Sendable {
    /// Part of a body still streaming in: its events (deduplicated on `id`) and malformed
    /// elements, and, when `checkpointMs` is given, the watermark moved up to it. Pass a
    /// checkpoint only for a sorted body: every event before it has been seen.
    case batch(contactID: Int64, events: [StopEvent], malformed: [MalformedElement], checkpointMs: Int64?, now: Int64)
    /// The last part of a complete body, the watermark set to the window's end and the poll's
    /// success recorded.
    case finish(
        contactID: Int64, events: [StopEvent], malformed: [MalformedElement], watermarkMs: Int64, nextDueMs: Int64,
        now: Int64)
    /// A failed poll; the watermark stays where the earlier writes put it.
    case failure(contactID: Int64, status: ContactStatus, error: String, nextDueMs: Int64, now: Int64)

    /// The bytes of the elements it carries: what the write queue counts to size its transactions.
    public var byteCount: Int {
        switch self {
        case .batch(_, let events, let malformed, _, _), .finish(_, let events, let malformed, _, _, _):
            events.reduce(0) { $0 + $1.payload.count } + malformed.reduce(0) { $0 + $1.raw.count }
        case .failure:
            0
        }
    }
}
