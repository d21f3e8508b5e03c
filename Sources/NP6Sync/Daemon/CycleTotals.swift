import SyncStore

/// What the daemon did during one cycle (one `schedule.intervalSeconds` of wall time): the
/// totals of its info summary line and of its `sync_runs` row.
struct CycleTotals: Sendable {
    var run: SyncRunSummary
    var notFound = 0
    var rateLimited = 0
    var unsortedBodies = 0

    init(startedMs: Int64) {
        run = SyncRunSummary(kind: "cycle", startedMs: startedMs, finishedMs: startedMs)
    }

    mutating func add(_ outcome: PollOutcome) {
        run.contactsPolled += 1
        run.requests += outcome.requests
        run.eventsNew += outcome.counts.new
        run.eventsDuplicate += outcome.counts.duplicate
        run.eventsConflicting += outcome.counts.conflicting
        run.eventsQuarantined += outcome.counts.quarantined
        if outcome.sawUnsortedBody { unsortedBodies += 1 }
        switch outcome.result {
        case .caughtUp, .unauthorized: break
        case .notFound: notFound += 1
        case .rateLimited: rateLimited += 1
        case .failed, .databaseFailed: run.contactsFailed += 1
        }
    }
}
