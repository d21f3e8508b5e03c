import Foundation
import NP6Model
import StoreTestSupport
import SyncStore
import Testing

@testable import PostgresStore

/// A daemon frozen in the middle of a commit (SIGSTOP, a paused VM, a cut link) holds the
/// advisory lock that every event insert takes. The others must neither wait for it silently
/// nor for long: a commit that waits past `lock_timeout` is refused as `busy` (a database error
/// the daemon counts and backs off from), and the frozen session is ended by the server after
/// `idle_in_transaction_session_timeout`, its transaction rolled back (`SessionLimits`).
@Suite(.timeLimit(.minutes(5)), .enabled(if: PostgresTestServer.isEnabled)) struct FrozenPeerTests {
    /// `database.leaseSeconds` 3: a lock is waited for at most 1 s, a silent transaction cut after 1 s.
    let limits = SessionLimits(leaseSeconds: 3, boundsStatements: true)
    let takeTheEventLock = "SELECT pg_advisory_xact_lock(\(PostgresPollWriteCommitter.eventWriterLock))"

    /// What `body` did within `seconds`, or `nil` when it had not returned by then. Past the
    /// deadline `unblock` runs (the frozen session is closed), so that a commit waiting for it
    /// returns and the test fails instead of hanging.
    func within<T: Sendable>(
        _ seconds: Double, unblock: @escaping @Sendable () async -> Void, _ body: @escaping @Sendable () async -> T
    ) async -> (value: T, seconds: Double)? {
        let started = ContinuousClock.now
        return await withTaskGroup(of: (T, Double)?.self) { group in
            group.addTask {
                let value = await body()
                return (value, (ContinuousClock.now - started).seconds)
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil { await unblock() }  // the deadline came first
            group.cancelAll()
            await group.waitForAll()
            return first
        }
    }

    func batch(_ target: PollTarget, _ id: String) -> PollWrite {
        .batch(contact: target, events: [event(id, at: 1_000)], malformed: [], checkpoint: nil, now: 2_000)
    }

    /// An operator's session (or a daemon of an older version) holds the lock and does not let
    /// it go: the commit is refused as `busy` after `lock_timeout`, never left waiting.
    @Test func aCommitWaitingForTheEventLockPastTheLockTimeoutIsRefusedAsBusy() async throws {
        let server = try PostgresTestServer.configured()
        try await server.withTemporaryDatabase { endpoint in
            let store = try await PostgresEventStore.open(endpoint, password: server.password, limits: limits)
            let contact = ContactReference(kind: .id, value: "A")
            _ = try await store.addContacts([contact], now: 1)
            let target = try #require(try await store.contact(contact)).pollTarget
            let holder = try await server.silentSession(running: takeTheEventLock, on: endpoint.database)
            let outcome = await within(10, unblock: { await holder.close() }) { () -> SyncStoreError? in
                do {
                    _ = try await store.write(batch(target, "e1"))
                    return nil
                } catch {
                    return error as? SyncStoreError
                }
            }
            let (refusal, seconds) = try #require(outcome, "the commit still waited for the lock after 10 s")
            guard case .unavailable(let code, let message)? = refusal else {
                Issue.record("expected a refusal, got \(String(describing: refusal))")
                return
            }
            #expect(code == .busy, "\(message)")
            #expect(message.contains("55P03"), "lock_timeout: \(message)")
            #expect(seconds < 5, "waited \(seconds) s for a lock_timeout of 1 s")
            await holder.close()
            // Once the lock is free, the same write commits.
            #expect(try await store.write(batch(target, "e1")).new == 1)
            await store.close()
        }
    }

    /// A daemon frozen with the lock (its session set up as every daemon's is) is cut by the
    /// server; the other daemon's commit goes through, and the frozen one, when it wakes, finds
    /// its transaction gone: nothing of it was committed.
    @Test func aFrozenHolderOfTheEventLockIsCutAndTheOthersCommit() async throws {
        let server = try PostgresTestServer.configured()
        try await server.withTemporaryDatabase { endpoint in
            let store = try await PostgresEventStore.open(endpoint, password: server.password, limits: limits)
            let contact = ContactReference(kind: .id, value: "A")
            _ = try await store.addContacts([contact], now: 1)
            let target = try #require(try await store.contact(contact)).pollTarget
            let frozen = try await server.silentSession(
                running:
                    "INSERT INTO events (id, contact_id, timestamp_ms, payload, received_ms) "
                    + "SELECT 'frozen', \(target.id), 1, '{}', 1 FROM (\(takeTheEventLock)) AS lock",
                on: endpoint.database, startupParameters: limits.startupParameters)
            let outcome = await within(10, unblock: { await frozen.close() }) { () -> Int in
                // As the write queue does: a refused commit is tried again.
                var attempts = 0
                while true {
                    attempts += 1
                    do {
                        _ = try await store.write(batch(target, "e1"))
                        return attempts
                    } catch {
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            let (_, seconds) = try #require(outcome, "the frozen session still stalled the commit after 10 s")
            #expect(seconds < 4, "committed \(seconds) s after the other daemon froze, with the idle limit at 1 s")
            await #expect(throws: PostgresTestServer.SilentSession.SessionEnded.self, "its transaction is gone") {
                try await frozen.wake()
            }
            await frozen.close()
            #expect(try await store.eventIDs() == ["e1"])
            await store.close()
        }
    }

    /// The frozen daemon wakes up in the middle of its commit, whose session the server ended:
    /// its next statement fails at once as `unreachable` and the transaction is rolled back,
    /// instead of waiting forever for an answer (a statement sent on a closed connection is
    /// never answered), so it carries on: the write is tried again and commits.
    @Test func aDaemonThatWakesUpInACommitTheServerEndedCarriesOn() async throws {
        let server = try PostgresTestServer.configured()
        try await server.withTemporaryDatabase { endpoint in
            let store = try await PostgresEventStore.open(endpoint, password: server.password, limits: limits)
            let contact = ContactReference(kind: .id, value: "A")
            _ = try await store.addContacts([contact], now: 1)
            let target = try #require(try await store.contact(contact)).pollTarget
            let write = batch(target, "e1")
            let logger = store.logger
            let outcome = await within(10, unblock: {}) { () -> (any Error)? in
                do {
                    _ = try await store.writing { connection in
                        // Frozen for 1.5 s after BEGIN: past the idle limit of 1 s.
                        try await Task.sleep(for: .milliseconds(1_500))
                        return try await PostgresPollWriteCommitter.apply([write], connection, logger: logger)
                    }
                    return nil
                } catch {
                    return error
                }
            }
            let (error, seconds) = try #require(outcome, "the woken commit still waited after 10 s")
            guard case .unavailable(let code, _)? = error as? SyncStoreError else {
                Issue.record("expected a refusal, got \(String(describing: error))")
                return
            }
            #expect(code == .unreachable)
            #expect(seconds < 3)
            #expect(try await store.eventIDs().isEmpty, "nothing of the ended transaction was committed")
            #expect(try await store.write(write).new == 1)
            await store.close()
        }
    }
}
