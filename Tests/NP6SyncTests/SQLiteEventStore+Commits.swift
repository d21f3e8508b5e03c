import GRDB
import TestClocks

@testable import SQLiteStore

extension SQLiteEventStore {
    /// Signalled after each transaction the store commits, for as long as the store lives:
    /// a test waits on it for what the engine writes (``eventually(timeout:_:on:sourceLocation:_:)``).
    func commits() -> StateChanges {
        let changes = StateChanges()
        pool.add(transactionObserver: CommitSignal(changes: changes), extent: .databaseLifetime)
        return changes
    }
}

/// Signals its changes on each commit; observes no row.
private final class CommitSignal: TransactionObserver {
    let changes: StateChanges

    init(changes: StateChanges) {
        self.changes = changes
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) { changes.signal() }
    func databaseDidRollback(_ db: Database) {}
}
