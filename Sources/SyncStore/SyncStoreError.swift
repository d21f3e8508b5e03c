/// Why the database could not be opened or used.
public enum SyncStoreError: Error, CustomStringConvertible, Sendable {
    /// The database refused an operation for a reason that may pass (locked, full, I/O error,
    /// read-only): nothing of the operation was stored, and trying again later is safe.
    case unavailable(code: DatabaseErrorCode, message: String)
    /// The file was written by a newer np6-sync (its schema version is higher than this build knows).
    case newerSchema(path: String, found: Int, known: Int)
    /// SQLite refused to open or migrate the file.
    case cannotOpen(path: String, reason: String)

    public var description: String {
        switch self {
        case .newerSchema(let path, let found, let known):
            "\(path): database schema version \(found) is newer than this np6-sync knows (\(known)); "
                + "upgrade np6-sync, the file was left untouched"
        case .cannotOpen(let path, let reason):
            "\(path): cannot open the database: \(reason)"
        case .unavailable(let code, let message):
            "\(code.explanation) (\(message))"
        }
    }

    /// A sink's cursor row is not there right after it was created: a trigger refused the insert,
    /// or another connection deleted the row meanwhile. Nothing was delivered; the caller tries again.
    public static func sinkCursorMissing(_ sink: String) -> SyncStoreError {
        .unavailable(
            code: .other,
            message: "the cursor of sink \(sink) is missing right after it was created "
                + "(a trigger refused the row, or another connection deleted it)")
    }
}
