import GRDB
import SyncStore

extension SQLiteEventStore {
    /// Runs `body` in a read transaction; SQLite's refusals come out as `SyncStoreError.unavailable`.
    func reading<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Runs `body` in a write transaction; SQLite's refusals come out as `SyncStoreError.unavailable`.
    func writing<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// What the engine is told about an error from GRDB: SQLite's result codes become a
    /// ``SyncStoreError/unavailable(code:message:)`` that names the condition, so that the engine
    /// backs off without knowing SQLite. A constraint violation is about one write, not the
    /// database: it passes unchanged, as does anything that is not a database error.
    static func storeError(_ error: any Error) -> any Error {
        guard let error = error as? DatabaseError, error.resultCode != .SQLITE_CONSTRAINT else { return error }
        let code: DatabaseErrorCode =
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED: .busy
            case .SQLITE_FULL: .full
            case .SQLITE_IOERR: .ioerr
            case .SQLITE_READONLY: .readonly
            default: .other
            }
        let message = "SQLite error \(error.extendedResultCode.rawValue): \(error.message ?? "no message")"
        return SyncStoreError.unavailable(code: code, message: message)
    }
}
