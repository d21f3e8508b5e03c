import Foundation
import NP6Model
import StoreTestSupport
import SyncStore
import Synchronization
import Testing

/// A sink reads the events after its cursor (`seq > cursor`), so an event must never commit
/// after one with a higher `seq` was readable. PostgreSQL hands out sequence values in no
/// commit order: the store makes the transactions that insert events commit one after the
/// other. Here several daemons' stores, each with its own connections, insert at once while a
/// sink reads and advances its cursor, as a delivery loop does.
@Suite(.timeLimit(.minutes(5))) struct CommitOrderTests {
    static let writers = 12
    static let transactionsPerWriter = 100
    static let eventsPerTransaction = 5

    @Test(arguments: StoreKind.allCases) func sinkReadingWhileSeveralInstancesInsertNeverSkipsAnEvent(
        _ kind: StoreKind
    ) async throws {
        try await kind.withStores(Self.writers + 1) { stores in
            let reader = stores[Self.writers]
            try await reader.createSinkCursor("reader", startingAfterLatest: false, now: 1)
            var targets: [PollTarget] = []
            for writer in 0..<Self.writers {
                let contact = ContactReference(kind: .id, value: "writer-\(writer)")
                _ = try await stores[writer].addContacts([contact], now: 1)
                targets.append(
                    PollTarget(id: try #require(try await stores[writer].contact(contact)).id, generation: 0))
            }
            let writing = Writers(count: Self.writers)
            let targetsByWriter = targets
            async let written: [String] = withThrowingTaskGroup(of: [String].self) { group in
                for writer in 0..<Self.writers {
                    group.addTask {
                        defer { writing.finished() }
                        var ids: [String] = []
                        for transaction in 0..<Self.transactionsPerWriter {
                            let events = (0..<Self.eventsPerTransaction).map { index in
                                event("w\(writer)-t\(transaction)-e\(index)", at: Int64(transaction * 10 + index))
                            }
                            _ = try await stores[writer].write(
                                .batch(
                                    contact: targetsByWriter[writer], events: events, malformed: [], checkpoint: nil,
                                    now: 1_000))
                            ids += events.map(\.id)
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            // The sink: read after the cursor, "deliver", advance; until the writers are done and
            // nothing is left.
            var seen: [StoredEvent] = []
            var readsWhileWriting = 0
            while true {
                let done = writing.allFinished
                let (cursor, events) = try #require(try await reader.pendingBatch(for: "reader", limit: 1_000))
                if events.isEmpty {
                    if done { break }
                    await Task.yield()
                    continue
                }
                if !done { readsWhileWriting += 1 }
                seen += events
                #expect(
                    try await reader.advanceSinkCursor(
                        "reader", from: cursor.deliveredSeq, to: events.last!.seq, now: 2))
            }
            let all = try await written
            #expect(readsWhileWriting > 1, "the sink read while the writers wrote")
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.seq < $1.seq }, "cursor order")
            #expect(seen.count == all.count)
            let missed = Set(all).subtracting(seen.map(\.id))
            #expect(missed.isEmpty, "the sink skipped \(missed.count) events committed after a higher seq")
            #expect(try await reader.eventIDs() == Set(all))
        }
    }
}

/// How many writers are still writing.
private final class Writers: Sendable {
    private let running: Mutex<Int>

    init(count: Int) { running = Mutex(count) }

    func finished() { running.withLock { $0 -= 1 } }
    var allFinished: Bool { running.withLock { $0 == 0 } }
}
