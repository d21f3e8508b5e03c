import Synchronization

/// How a store commits the pollers' writes for ``PollWriteQueue``: its database code.
public protocol PollWriteCommitter: Sendable {
    /// Applies `writes` in order in one transaction and returns what each stored; throws (and
    /// stores nothing) when the transaction fails.
    func commit(_ writes: [PollWrite]) async throws -> [InsertCounts]
    /// Whether an error `commit` threw is about one of the writes (a constraint it broke), so
    /// that writing each alone lets the others through.
    func concernsOneWrite(_ error: any Error) -> Bool
    /// What the engine is told about an error `commit` threw (see ``SyncStoreError/unavailable(code:message:)``).
    func storeError(_ error: any Error) -> any Error
}

/// Group commit for the pollers' writes: they queue here and are committed many to a
/// transaction, by one drain task that runs while there is something to write. Each store gives
/// its ``PollWriteCommitter``.
///
/// A transaction per poll (or per batch) made SQLite rewrite the same index pages again and
/// again; one per few thousand events writes each page once (and PostgreSQL makes one round trip
/// for them). The queue is bounded, so a slow disk slows the pollers down instead of filling
/// memory. A transaction that breaks a constraint is retried write by write, so only the polls
/// whose writes fail see the error; any other failure (disk full, locked) fails every write in it.
public final class PollWriteQueue: Sendable {
    public struct Limits: Sendable {
        /// A transaction starts once the queued events' bytes reach this (about 1,000 events of
        /// 530 bytes: 0.7× the rate of one transaction for everything, in a third of the memory)…
        public var transactionBytes = 512 * 1024
        /// …or this many writes…
        public var transactionWrites = 1024
        /// …or once the oldest has waited this long, or on `flush()`.
        public var delay: Duration = .milliseconds(100)
        /// `submit` waits while this many bytes or writes are queued.
        public var queuedBytes = 1024 * 1024
        public var queuedWrites = 4096

        public init() {}
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

    private let committer: any PollWriteCommitter
    private let limits: Limits
    /// What `limits.delay` is measured on; tests pass a manual clock.
    private let clock: any Clock<Duration>
    private let state = Mutex(State())

    public init(
        committer: any PollWriteCommitter, limits: Limits = Limits(), clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.committer = committer
        self.limits = limits
        self.clock = clock
    }

    /// Queues `write` as the next of `group`; waits while the queue is full.
    public func submit(_ write: PollWrite, for group: PollWriteGroup) async {
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
    public func flush() async {
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
        // A group whose earlier write failed gets none of its later writes applied.
        var applied: [Entry] = []
        for entry in batch {
            if entry.group.hasFailed {
                entry.group.settle(.failure(EarlierWriteFailed()))
            } else {
                applied.append(entry)
            }
        }
        guard !applied.isEmpty else { return }
        do {
            let results = try await committer.commit(applied.map(\.write))
            for (entry, counts) in zip(applied, results) { entry.group.settle(.success(counts)) }
        } catch  where committer.concernsOneWrite(error) {
            // One write broke a constraint (a contact deleted meanwhile, a trigger): the
            // transaction was rolled back; write each alone so that only the polls whose writes
            // fail see it.
            for entry in applied {
                guard !entry.group.hasFailed else {
                    entry.group.settle(.failure(EarlierWriteFailed()))
                    continue
                }
                do {
                    entry.group.settle(.success(try await committer.commit([entry.write])[0]))
                } catch {
                    entry.group.settle(.failure(committer.storeError(error)))
                }
            }
        } catch {
            // The database as a whole refused (disk full, read-only, locked by another process
            // past the busy timeout, unreachable): every write would fail the same way. Only
            // these writes' polls fail; the queue goes on with the next transaction, and the
            // polls count it as a failed attempt.
            let error = committer.storeError(error)
            for entry in applied { entry.group.settle(.failure(error)) }
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
