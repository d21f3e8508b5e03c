/// What the last poll of a contact concluded, as stored in `contacts.last_status`.
public enum ContactStatus: String, Sendable, Hashable, CaseIterable {
    case ok
    /// The API answered 404: re-checked every `schedule.notFoundRecheckSeconds`.
    case notFound = "not_found"
    /// A transient fault (5xx, timeout, dropped connection, malformed body): retried with backoff.
    case failed
    /// 429: retried after the pause the API asked for.
    case rateLimited = "rate_limited"
    /// 401/403: the key was refused.
    case unauthorized
}
