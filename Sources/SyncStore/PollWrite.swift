import NP6Model

/// One write a poll makes. Each keeps the watermark invariant on its own: every event before the
/// watermark it sets is stored by it or by an earlier write of the same contact.
///
/// Every write stores its events and malformed elements; it changes the contact's row only while
/// the row's generation is still the `contact.generation` the poll started from (see `PollTarget`).
public enum PollWrite: Sendable {
    /// Part of a body still streaming in: its events (deduplicated on `id`) and malformed
    /// elements, and the watermark moved as `checkpoint` says.
    case batch(
        contact: PollTarget, events: [StopEvent], malformed: [MalformedElement], checkpoint: Checkpoint?, now: Int64)
    /// The last part of a complete body, the watermark set to the window's end and the poll's
    /// success recorded.
    case finish(
        contact: PollTarget, events: [StopEvent], malformed: [MalformedElement], watermarkMs: Int64, nextDueMs: Int64,
        now: Int64)
    /// A failed poll; the watermark stays where the earlier writes put it.
    case failure(contact: PollTarget, status: ContactStatus, error: String, nextDueMs: Int64, now: Int64)

    /// How a batch moves the watermark.
    public enum Checkpoint: Sendable, Hashable {
        /// Up to `ms`, never down: every event before it has been seen (a sorted body, or a
        /// complete window).
        case advance(toMs: Int64)
        /// Down to `ms`, never up (`nil`: back to no watermark): the body turned out unsorted
        /// after earlier batches were checkpointed, so events before those checkpoints may still
        /// be unread. `ms` is where the watermark stood before the window.
        case rewind(toMs: Int64?)
    }

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
