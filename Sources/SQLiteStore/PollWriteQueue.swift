import GRDB
import SyncStore
import Synchronization

/// Group commit for the pollers' writes: they queue here and are committed many to a
/// transaction, by one drain task that runs while there is something to write.
///
/// A transaction per poll (or per batch) made SQLite rewrite the same index pages again and
/// again; one per few thousand events writes each page once. The queue is bounded, so a slow disk
/// slows the pollers down instead of filling memory. A transaction that breaks a constraint is
/// retried write by write, so only the polls whose writes fail see the error; any other failure
/// (disk full, locked) fails every write in it.
final class PollWriteQueue: Sendable {
    struct Limits: Sendable {
        /// A transaction starts once the queued events' bytes reach this (about 1,000 events of
        /// 530 bytes: 0.7× the rate of one transaction for everything, in a third of the memory)…
        var transactionBytes = 512 * 1024
        /// …or this many writes…
        var transactionWrites = 1024
        /// …or once the oldest has waited this long, or on `flush()`.
        var delay: Duration = .milliseconds(100)
        /// `submit` waits while this many bytes or writes are queued.
        var queuedBytes = 1024 * 1024
        var queuedWrites = 4096
    }

    private struct Entry {
        var write: PollWrite
        var group: PollWriteGroup
        var sequence: Int
    }

    private struct State {
        var queue: [Entry] = []
        var queuedBytes = 0
        var submitted = 0
        var committed = 0
        var draining = false
        var flushRequested = false
        var drainerWait: (id: Int, continuation: CheckedContinuation<Void, Never>)?
        var drainerWaits = 0
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var flushWaiters: [(sequence: Int, continuation: CheckedContinuation<Void, Never>)] = []

        func isFull(_ limits: Limits) -> Bool {
            queuedBytes >= limits.queuedBytes || queue.count >= limits.queuedWrites
        }

        func isReady(_ limits: Limits) -> Bool {
            flushRequested || queuedBytes >= limits.transactionBytes || queue.count >= limits.transactionWrites
        }

        mutating func wakeDrainer(ifWait id: Int? = nil) {
            guard let wait = drainerWait, id == nil || id == wait.id else { return }
            drainerWait = nil
            wait.continuation.resume()
        }
    }

    private let pool: DatabasePool
    private let limits: Limits
    /// What `limits.delay` is measured on; tests pass a manual clock.
    private let clock: any Clock<Duration>
    private let state = Mutex(State())

    init(pool: DatabasePool, limits: Limits = Limits(), clock: any Clock<Duration> = ContinuousClock()) {
        self.pool = pool
        self.limits = limits
        self.clock = clock
    }

    /// Queues `write` as the next of `group`; waits while the queue is full.
    func submit(_ write: PollWrite, for group: PollWriteGroup) async {
        group.submitted()
        while true {
            let (appended, startDrainer) = state.withLock { state -> (Bool, Bool) in
                guard !state.isFull(limits) else { return (false, false) }
                state.submitted += 1
                state.queue.append(Entry(write: write, group: group, sequence: state.submitted))
                state.queuedBytes += write.byteCount
                if state.isReady(limits) { state.wakeDrainer() }
                defer { state.draining = true }
                return (true, !state.draining)
            }
            if startDrainer { Task { await self.drain() } }
            if appended { return }
            await withCheckedContinuation { continuation in
                let waiting = state.withLock { state in
                    guard state.isFull(limits) else { return false }
                    state.spaceWaiters.append(continuation)
                    return true
                }
                if !waiting { continuation.resume() }
            }
        }
    }

    /// Returns once every write submitted before the call is committed (or has failed).
    func flush() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                guard state.committed < state.submitted else { return true }
                state.flushRequested = true
                state.flushWaiters.append((state.submitted, continuation))
                state.wakeDrainer()
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func drain() async {
        while let batch = await nextBatch() {
            await commit(batch)
            state.withLock { state in
                state.committed = batch.last!.sequence
                let (done, waiting) = state.flushWaiters.partitioned { $0.sequence <= state.committed }
                state.flushWaiters = waiting
                for waiter in done { waiter.continuation.resume() }
            }
        }
    }

    /// Waits until a transaction is due, then takes the whole queue; `nil` when it is empty.
    private func nextBatch() async -> [Entry]? {
        await withCheckedContinuation { continuation in
            let waitID = state.withLock { state -> Int? in
                guard !state.queue.isEmpty, !state.isReady(limits) else { return nil }
                state.drainerWaits += 1
                state.drainerWait = (state.drainerWaits, continuation)
                return state.drainerWaits
            }
            guard let waitID else { return continuation.resume() }
            Task {
                try? await clock.sleep(for: limits.delay)
                state.withLock { $0.wakeDrainer(ifWait: waitID) }
            }
        }
        return state.withLock { state -> [Entry]? in
            guard !state.queue.isEmpty else {
                state.draining = false
                state.flushRequested = false
                return nil
            }
            defer {
                state.queue = []
                state.queuedBytes = 0
                state.flushRequested = false
                for waiter in state.spaceWaiters { waiter.resume() }
                state.spaceWaiters = []
            }
            return state.queue
        }
    }

    private func commit(_ batch: [Entry]) async {
        do {
            let results = try await pool.write { db in
                try batch.map { entry -> Result<InsertCounts, any Error> in
                    entry.group.hasFailed ? .failure(EarlierWriteFailed()) : .success(try entry.write.apply(db))
                }
            }
            for (entry, result) in zip(batch, results) { entry.group.settle(result) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            // One write broke a constraint (a contact deleted meanwhile, a trigger): the
            // transaction was rolled back; write each alone so that only the polls whose writes
            // fail see it.
            for entry in batch {
                guard !entry.group.hasFailed else {
                    entry.group.settle(.failure(EarlierWriteFailed()))
                    continue
                }
                do {
                    entry.group.settle(.success(try await pool.write { try entry.write.apply($0) }))
                } catch {
                    entry.group.settle(.failure(SQLiteEventStore.storeError(error)))
                }
            }
        } catch {
            // The database as a whole refused (disk full, read-only, locked by another process
            // past the busy timeout): every write would fail the same way, one busy timeout each.
            // Only these writes' polls fail; the queue goes on with the next transaction, and
            // the polls count it as a failed attempt.
            let error = SQLiteEventStore.storeError(error)
            for entry in batch { entry.group.settle(.failure(error)) }
        }
    }

    /// Settles a write that was not applied because an earlier write of its poll failed (that
    /// earlier error is the one the poll reports).
    private struct EarlierWriteFailed: Error {}
}

extension Array {
    fileprivate func partitioned(by belongsInFirst: (Element) -> Bool) -> ([Element], [Element]) {
        var first: [Element] = []
        var second: [Element] = []
        for element in self {
            if belongsInFirst(element) { first.append(element) } else { second.append(element) }
        }
        return (first, second)
    }
}
