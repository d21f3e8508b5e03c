/// Why a sink could not deliver a batch, and so what its delivery loop does next.
///
/// The reason is logged and stored in `sink_cursors.last_error` (and, for a rejected event, in
/// `dead_letters.answer`): it says what the receiver answered, never a secret or a header value.
public enum SinkError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The receiver rejected this batch (e.g. a webhook's 400, a command's exit status 65).
    /// With `deadLetter` the batch is split to set the rejected events aside; without, the sink
    /// stops, keeping its cursor, until a reload or `np6-sync sinks replay`.
    case permanent(reason: String)
    /// The receiver is unavailable for now (5xx, 408, 429, a timeout, a refused connection, a
    /// nonzero exit): the same batch is retried with exponential backoff, and not before
    /// `retryAfter` when the receiver asked for a pause.
    case transient(reason: String, retryAfter: Duration?)
    /// The receiver refuses every delivery whatever it contains (401, 403, 404, a redirect, a
    /// program that cannot be run): the sink stops, even with `deadLetter`, since setting events
    /// aside would only empty the stream into the dead-letter table.
    case refused(reason: String)

    /// What went wrong, as logged and stored.
    public var reason: String {
        switch self {
        case .permanent(let reason), .transient(let reason, _), .refused(let reason): reason
        }
    }

    public var description: String {
        switch self {
        case .permanent(let reason): "rejected: \(reason)"
        case .transient(let reason, _): reason
        case .refused(let reason): "refused: \(reason)"
        }
    }
}
