import Foundation
import Logging
import NP6Model
import PostgresNIO
import SyncStore
import Synchronization

extension PostgresEventStore {
    /// Adds the contacts that `produce` hands to `add`, one by one, in a single transaction: when
    /// `produce` throws, nothing is added.
    ///
    /// `produce` runs on a thread of its own (it may read a file as it goes); its references
    /// cross to the transaction 5,000 at a time, each chunk one statement, and `add` waits while
    /// a chunk is being written, so a million contacts never sit in memory.
    public func addContacts<Produced: Sendable>(
        now: Int64,
        _ produce: @escaping @Sendable (_ add: (ContactReference) throws -> Void) throws -> Produced
    ) async throws -> (added: AddedContacts, produced: Produced) {
        let channel = ReferenceChannel<Produced>()
        let producer = Thread {
            var chunk: [ContactReference] = []
            let result = Result {
                let produced = try produce { reference in
                    chunk.append(reference)
                    if chunk.count >= ReferenceChannel<Produced>.chunkSize {
                        try channel.send(chunk)
                        chunk = []
                    }
                }
                if !chunk.isEmpty { try channel.send(chunk) }
                return produced
            }
            channel.finish(result)
        }
        producer.start()
        do {
            return try await writing { connection in
                // The references seen in this call: a temporary table, gone at commit or rollback.
                try await connection.run(
                    """
                    CREATE TEMP TABLE adding (kind text NOT NULL, value text NOT NULL, PRIMARY KEY (kind, value))
                        ON COMMIT DROP
                    """, logger: logger)
                var result = AddedContacts()
                while true {
                    switch await channel.next() {
                    case .chunk(let references):
                        let counts = try await Self.add(references, now: now, connection, logger: logger)
                        result.repeated += references.count - counts.fresh
                        result.added += counts.inserted
                        result.reenabled += counts.enabled
                        result.unchanged += counts.fresh - counts.inserted - counts.enabled
                        channel.acknowledge()
                    case .end(let produced):
                        return (result, try produced.get())
                    }
                }
            }
        } catch {
            channel.abort()
            throw error
        }
    }

    private static func add(
        _ references: [ContactReference], now: Int64, _ connection: PostgresConnection, logger: Logger
    ) async throws -> (fresh: Int, inserted: Int, enabled: Int) {
        let rows = try await connection.query(
            """
            WITH input AS (
                SELECT kind, value, ord FROM unnest(\(PackedArray.text(references.map(\.kind.rawValue)))::text[],
                    \(PackedArray.text(references.map(\.value)))::text[]) WITH ORDINALITY AS input (kind, value, ord)
            ),
            fresh AS (
                INSERT INTO adding (kind, value) SELECT kind, value FROM input ORDER BY ord
                ON CONFLICT DO NOTHING RETURNING kind, value
            ),
            enabled AS (
                UPDATE contacts c SET enabled = 1, next_due_ms = LEAST(c.next_due_ms, \(now))
                FROM fresh f WHERE c.kind = f.kind AND c.value = f.value AND c.enabled = 0
                RETURNING 1
            ),
            inserted AS (
                INSERT INTO contacts (kind, value, enabled, next_due_ms, added_ms)
                SELECT f.kind, f.value, 1, \(now), \(now)
                FROM fresh f JOIN (SELECT kind, value, min(ord) AS ord FROM input GROUP BY kind, value) i
                    ON i.kind = f.kind AND i.value = f.value
                ORDER BY i.ord
                ON CONFLICT (kind, value) DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM fresh), (SELECT count(*) FROM inserted), (SELECT count(*) FROM enabled)
            """, logger: logger)
        for try await (fresh, inserted, enabled) in rows.decode((Int, Int, Int).self) {
            return (fresh, inserted, enabled)
        }
        return (0, 0, 0)
    }

    /// Stops polling a contact. Its row stays, so that its stored events keep their contact;
    /// adding it again resumes from its watermark. Returns false when no such contact is enabled.
    public func removeContact(_ reference: ContactReference) async throws -> Bool {
        try await writing { connection in
            try await connection.count(
                """
                UPDATE contacts SET enabled = 0, generation = generation + 1
                WHERE kind = \(reference.kind.rawValue) AND value = \(reference.value) AND enabled = 1 RETURNING 1
                """, logger: logger) > 0
        }
    }

    /// One contact by reference, enabled or not.
    public func contact(_ reference: ContactReference) async throws -> StoredContact? {
        try await reading { connection in
            try await ContactRow.fetch(
                connection,
                "WHERE kind = \(reference.kind.rawValue) AND value = \(reference.value)",
                logger: logger
            ).first
        }
    }

    /// A page of contacts in `id` order, after `afterID`: paging keeps a million contacts out of memory.
    public func contacts(afterID: Int64, limit: Int, enabledOnly: Bool) async throws -> [StoredContact] {
        try await reading { connection in
            try await ContactRow.fetch(
                connection,
                "WHERE id > \(afterID) AND (enabled = 1 OR NOT \(enabledOnly)) ORDER BY id LIMIT \(limit)",
                logger: logger)
        }
    }

    /// Sets a contact's watermark (`nil` re-reads from `sync.initialStart`) and makes it due now.
    /// Returns false for an unknown contact.
    public func setWatermark(_ reference: ContactReference, to watermarkMs: Int64?, now: Int64) async throws -> Bool {
        try await writing { connection in
            try await connection.count(
                """
                UPDATE contacts SET watermark_ms = \(watermarkMs), next_due_ms = \(now), generation = generation + 1
                WHERE kind = \(reference.kind.rawValue) AND value = \(reference.value) RETURNING 1
                """, logger: logger) > 0
        }
    }

    /// Makes the named enabled contacts due now; returns the references that are not enabled contacts.
    public func recheckContacts(_ references: [ContactReference], now: Int64) async throws -> [ContactReference] {
        try await writing { connection in
            var unknown: [ContactReference] = []
            for reference in references {
                let changed = try await connection.count(
                    """
                    UPDATE contacts SET next_due_ms = LEAST(next_due_ms, \(now)), generation = generation + 1
                    WHERE kind = \(reference.kind.rawValue) AND value = \(reference.value) AND enabled = 1
                    RETURNING 1
                    """, logger: logger)
                if changed == 0 { unknown.append(reference) }
            }
            return unknown
        }
    }

    /// Makes every enabled `not_found` contact due now; returns how many.
    public func recheckNotFoundContacts(now: Int64) async throws -> Int {
        try await writing { connection in
            try await connection.count(
                """
                UPDATE contacts SET next_due_ms = LEAST(next_due_ms, \(now)), generation = generation + 1
                WHERE enabled = 1 AND last_status = \(ContactStatus.notFound.rawValue) RETURNING 1
                """, logger: logger)
        }
    }

    /// Brings back watermarks and due times that a clock ahead of the API's left in its future.
    public func bringBackFutureTimes(
        watermarksAfterMs: Int64, dueTimesAfterMs: Int64?, notFoundDueTimesAfterMs: Int64?, toMs: Int64
    ) async throws -> Int {
        try await writing { connection in
            var changed = Set<Int64>()
            // No events: NULL, re-read from sync.initialStart (PostgreSQL's LEAST ignores a NULL,
            // SQLite's min() does not, hence the CASE).
            let watermarks = try await connection.query(
                """
                UPDATE contacts SET watermark_ms = (
                    SELECT CASE WHEN max(timestamp_ms) IS NULL THEN NULL ELSE LEAST(max(timestamp_ms), \(toMs)) END
                    FROM events WHERE contact_id = contacts.id)
                WHERE watermark_ms > \(watermarksAfterMs) RETURNING id
                """, logger: logger)
            for try await id in watermarks.decode(Int64.self) { changed.insert(id) }
            if let dueTimesAfterMs {
                let notFoundAfter = notFoundDueTimesAfterMs ?? dueTimesAfterMs
                let dueTimes = try await connection.query(
                    """
                    UPDATE contacts SET next_due_ms = \(toMs)
                    WHERE next_due_ms > (CASE WHEN last_status = \(ContactStatus.notFound.rawValue)
                        THEN \(notFoundAfter) ELSE \(dueTimesAfterMs) END)
                    RETURNING id
                    """, logger: logger)
                for try await id in dueTimes.decode(Int64.self) { changed.insert(id) }
            }
            return changed.count
        }
    }
}

/// Hands the references `addContacts`' producer thread reads to the transaction, a chunk at a
/// time: the producer waits until its chunk is written, so memory holds one chunk.
final class ReferenceChannel<Produced: Sendable>: Sendable {
    static var chunkSize: Int { 5_000 }

    enum Item: Sendable {
        case chunk([ContactReference])
        case end(Result<Produced, any Error>)
    }

    private struct State {
        var items: [Item] = []
        var waiter: CheckedContinuation<Item, Never>?
        var aborted = false
    }

    private let state = Mutex(State())
    private let written = DispatchSemaphore(value: 0)

    /// The transaction was given up: what `add` throws from then on.
    struct Aborted: Error {}

    /// From the producer's thread: hands a chunk over and waits until it is written.
    func send(_ chunk: [ContactReference]) throws {
        try deliver(.chunk(chunk))
        written.wait()
        if state.withLock({ $0.aborted }) { throw Aborted() }
    }

    /// From the producer's thread: what `produce` returned or threw.
    func finish(_ result: Result<Produced, any Error>) {
        try? deliver(.end(result))
    }

    private func deliver(_ item: Item) throws {
        let waiter = try state.withLock { state throws -> CheckedContinuation<Item, Never>? in
            guard !state.aborted else { throw Aborted() }
            guard let waiter = state.waiter else {
                state.items.append(item)
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: item)
    }

    /// The next chunk, or the end.
    func next() async -> Item {
        await withCheckedContinuation { continuation in
            let item = state.withLock { state -> Item? in
                guard !state.items.isEmpty else {
                    state.waiter = continuation
                    return nil
                }
                return state.items.removeFirst()
            }
            if let item { continuation.resume(returning: item) }
        }
    }

    /// The last chunk is written: the producer goes on.
    func acknowledge() { written.signal() }

    /// The transaction failed: the producer's next `add` throws.
    func abort() {
        state.withLock { $0.aborted = true }
        written.signal()
    }
}
