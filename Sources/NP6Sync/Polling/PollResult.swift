import Logging
import NP6Client
import SyncStore

/// How one poll of one contact ended.
public enum PollResult: Sendable, Hashable {
    /// Every window up to now was stored and the watermark moved to its end.
    case caughtUp
    /// 404: the API does not know the contact.
    case notFound
    /// 429 with the pause the API asked for, if any; the watermark kept what was stored.
    case rateLimited(RateLimitInfo?)
    /// 401/403: the key was refused; nothing more should be polled.
    case unauthorized(status: Int)
    /// A transient fault: 5xx, transport, malformed body, unexpected status.
    case failed(NP6ClientError)
    /// The database refused the poll's writes (locked, full, I/O error, read-only): a failed
    /// attempt, not recorded in the contact's row, which the database would refuse too. What
    /// earlier writes of the poll committed stays; the watermark is where they left it.
    case databaseFailed(DatabaseErrorCode, message: String)

    /// A fault that may well be gone on the next request: 5xx, a timeout or dropped connection,
    /// a malformed body, 429, a database that refused the writes. `sync` tries such a contact
    /// again within its pass.
    public var isTransient: Bool {
        switch self {
        case .rateLimited, .databaseFailed: true
        case .failed(.serverError), .failed(.transport), .failed(.malformedBody): true
        case .caughtUp, .notFound, .unauthorized, .failed: false
        }
    }

    /// The `contacts.last_status` this result writes.
    var contactStatus: ContactStatus {
        switch self {
        case .caughtUp: .ok
        case .notFound: .notFound
        case .rateLimited: .rateLimited
        case .unauthorized: .unauthorized
        case .failed, .databaseFailed: .failed
        }
    }

    init(_ error: NP6ClientError) {
        switch error {
        case .contactNotFound: self = .notFound
        case .rateLimited(let info): self = .rateLimited(info)
        case .unauthorized(let status): self = .unauthorized(status: status)
        default: self = .failed(error)
        }
    }
}
