import Logging
import NP6Model
import SyncStore
import Synchronization

/// Whether the database refuses the daemon, since when, and how often: the one place that
/// logs the condition (an error when it starts, a reminder every `reminderIntervalMs`, an info
/// line with its duration when it ends), counts each refusal in
/// `np6sync_database_errors_total{code}`, and words it for systemd's STATUS= and the cycle's
/// `sync_runs.error`.
///
/// A refused write is cleared only by a write that succeeds; a refused read, by any success
/// (in WAL mode reads go on while another connection holds the write lock). Either only once
/// `quietMs` passed since the last refusal: on a full disk, writes that need no new page succeed
/// between refused ones, and the condition should not flap in the log.
final class DatabaseHealth: Sendable {
    /// The database refusing operations, as it stands.
    struct Condition: Sendable, Hashable {
        var code: DatabaseErrorCode
        var message: String
        var sinceMs: Int64
        var errors: Int
        /// A write was refused; a read that succeeds does not end the condition.
        var writesRefused: Bool
        var remindedMs: Int64
        var lastErrorMs: Int64
        /// When an operation that ends the condition first succeeded after the last refusal; the
        /// condition ends once `quietMs` passed since that refusal (see ``refresh()``).
        var answeredMs: Int64?
    }

    private struct State {
        var condition: Condition?
        /// The condition seen since the last ``takeRunSummary()``, worded for `sync_runs.error`.
        var runSummary: String?
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let metrics: SyncMetrics?
    private let wallNowMs: @Sendable () -> Int64
    /// How often an ongoing condition is logged again.
    let reminderIntervalMs: Int64
    /// How long after the last refusal a success ends the condition.
    let quietMs: Int64

    init(
        logger: Logger, metrics: SyncMetrics?, wallNowMs: @escaping @Sendable () -> Int64,
        reminderIntervalMs: Int64 = 60_000, quietMs: Int64 = 10_000
    ) {
        self.logger = logger
        self.metrics = metrics
        self.wallNowMs = wallNowMs
        self.reminderIntervalMs = reminderIntervalMs
        self.quietMs = quietMs
    }

    /// The condition now; `nil` while the database answers.
    var condition: Condition? { state.withLock { $0.condition } }

    /// The database refused `operation` with `error` (a store error).
    func failed(_ error: any Error, operation: String, isWrite: Bool) {
        failed(DatabaseErrorCode(error), message: "\(error)", operation: operation, isWrite: isWrite)
    }

    /// The database refused `operation`: `code`, with the store's `message`.
    func failed(_ code: DatabaseErrorCode, message: String, operation: String, isWrite: Bool) {
        metrics?.recordDatabaseError(code)
        let now = wallNowMs()
        enum Log: Sendable {
            case started
            case reminder(Condition)
        }
        let (log, condition) = state.withLock { state -> (Log?, Condition) in
            guard var condition = state.condition else {
                let condition = Condition(
                    code: code, message: message, sinceMs: now, errors: 1, writesRefused: isWrite, remindedMs: now,
                    lastErrorMs: now)
                state.condition = condition
                state.runSummary = Self.summary(condition, endedMs: nil)
                return (.started, condition)
            }
            condition.code = code
            condition.message = message
            condition.errors += 1
            condition.lastErrorMs = now
            condition.answeredMs = nil
            condition.writesRefused = condition.writesRefused || isWrite
            var log: Log?
            if now - condition.remindedMs >= reminderIntervalMs {
                condition.remindedMs = now
                log = .reminder(condition)
            }
            state.condition = condition
            state.runSummary = Self.summary(condition, endedMs: nil)
            return (log, condition)
        }
        var metadata: Logger.Metadata = [
            "db.error.code": "\(code.rawValue)", "error": "\(message)", "db.operation": "\(operation)",
            "since": "\(Timestamp.iso8601(milliseconds: condition.sinceMs))",
        ]
        switch log {
        case .started:
            logger.error("The database refuses the daemon; polls and sinks back off and retry", metadata: metadata)
        case .reminder(let condition):
            metadata["duration_s"] = "\((now - condition.sinceMs) / 1000)"
            metadata["db.errors"] = "\(condition.errors)"
            logger.error("The database still refuses the daemon", metadata: metadata)
        case nil:
            break
        }
    }

    /// An operation succeeded: a write ends any condition, a read one that refused reads only,
    /// once no refusal came for `quietMs`.
    func succeeded(isWrite: Bool) {
        let now = wallNowMs()
        let ended = state.withLock { state -> Condition? in
            guard var condition = state.condition, isWrite || !condition.writesRefused else { return nil }
            condition.answeredMs = condition.answeredMs ?? now
            state.condition = condition
            return Self.end(&state, at: now, quietMs: quietMs)
        }
        logEnd(ended)
    }

    /// Ends a condition whose database answered once `quietMs` passed since its last refusal;
    /// the polling loop calls it on every turn, so the end is seen when nothing is left to poll.
    func refresh() {
        let now = wallNowMs()
        logEnd(state.withLock { Self.end(&$0, at: now, quietMs: quietMs) })
    }

    private static func end(_ state: inout State, at now: Int64, quietMs: Int64) -> Condition? {
        guard let condition = state.condition, let answeredMs = condition.answeredMs,
            now - condition.lastErrorMs >= quietMs
        else { return nil }
        state.condition = nil
        state.runSummary = summary(condition, endedMs: answeredMs)
        return condition
    }

    /// Logs the end of `ended`, with how long it lasted until the database answered.
    private func logEnd(_ ended: Condition?) {
        guard let ended, let answeredMs = ended.answeredMs else { return }
        logger.info(
            "The database answers again; polls resume",
            metadata: [
                "db.error.code": "\(ended.code.rawValue)", "since": "\(Timestamp.iso8601(milliseconds: ended.sinceMs))",
                "duration_s": "\((answeredMs - ended.sinceMs) / 1000)", "db.errors": "\(ended.errors)",
            ])
    }

    /// The condition for systemd's STATUS= line, e.g. `database busy since 2026-11-30T22:41:03Z
    /// (12 errors)`; `nil` while the database answers.
    var statusLine: String? {
        guard let condition else { return nil }
        return "database \(condition.code.rawValue) since \(Timestamp.iso8601(milliseconds: condition.sinceMs)) "
            + "(\(condition.errors) errors)"
    }

    /// The database trouble seen since the last call, for the cycle's `sync_runs.error`; `nil`
    /// when there was none. An ongoing condition is reported again by the next call.
    func takeRunSummary() -> String? {
        state.withLock { state in
            defer { state.runSummary = state.condition.map { Self.summary($0, endedMs: nil) } }
            return state.runSummary
        }
    }

    private static func summary(_ condition: Condition, endedMs: Int64?) -> String {
        let since = Timestamp.iso8601(milliseconds: condition.sinceMs)
        let span = endedMs.map { "from \(since) for \(($0 - condition.sinceMs) / 1000) s" } ?? "since \(since)"
        return "database \(condition.code.rawValue) \(span), \(condition.errors) errors: \(condition.message)"
    }
}
