/// Why a database refused an operation, as the metrics label it
/// (`np6sync_database_errors_total{code}`): each store maps its driver's errors to one of these.
public enum DatabaseErrorCode: String, Sendable, Hashable, CaseIterable {
    /// Locked by another connection past the busy timeout (a long import, an open `sqlite3`
    /// transaction, a backup).
    case busy
    /// The database or its file system is full.
    case full
    /// The operating system reported an I/O error.
    case ioerr
    /// The database or its file system is read-only.
    case readonly
    /// The database server could not be reached: the connection was refused, lost or timed out,
    /// or the server is starting up or shutting down (PostgreSQL).
    case unreachable
    /// Anything else the database refused.
    case other

    /// What an operator reads in a log line or a message.
    public var explanation: String {
        switch self {
        case .busy: "the database is locked by another connection past the busy timeout"
        case .full: "the database or its disk is full"
        case .ioerr: "the database had an I/O error"
        case .readonly: "the database is read-only"
        case .unreachable: "the database server cannot be reached"
        case .other: "the database refused the operation"
        }
    }

    /// The code of an error a store threw: its ``SyncStoreError/unavailable(code:message:)``
    /// code, else `other`.
    public init(_ error: any Error) {
        if case SyncStoreError.unavailable(let code, _) = error {
            self = code
        } else {
            self = .other
        }
    }
}
