import GRDB

/// Another connection to the database file that holds its write lock until `release()`, as an
/// operator's `sqlite3` does inside `BEGIN EXCLUSIVE`, a long `contacts import` or a backup.
public final class ForeignWriteLock: Sendable {
    private let queue: DatabaseQueue

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { try $0.execute(sql: "BEGIN EXCLUSIVE") }
    }

    public func release() throws {
        try queue.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
    }
}
