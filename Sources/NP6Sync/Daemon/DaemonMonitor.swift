import Logging
import NP6Model
import SyncStore

/// Watches the polling loop: the per-cycle summary (info log and `sync_runs` row), the capacity
/// check, and the one-line status for systemd. A database that refuses its reads or writes
/// never stops it: it tells `health`, keeps the last counts, and tries again at the next refresh.
actor DaemonMonitor {
    private let database: any ReportStore & PollWriteStore
    private let intervalMs: Int64
    private let requestsPerSecond: Int
    private let wallNowMs: @Sendable () -> Int64
    private let logger: Logger
    private var cycle: CycleTotals
    private var pausesAtCycleStart = 0
    private var pausesSeen = 0
    /// Receives the status line (systemd's STATUS=) whenever it is refreshed.
    private let publishStatus: @Sendable (String) -> Void
    private var statusRefreshedMs: Int64 = 0
    private let metrics: SyncMetrics?
    /// The names of the sinks as configured now (a reload changes them).
    private let configuredSinks: @Sendable () -> [String]
    /// The sinks whose lag the metrics show.
    private var sinksWithLag: Set<String> = []
    /// The database's condition, in the status line and in the cycle's `sync_runs.error`.
    private let health: DatabaseHealth?
    private var publishedCounts: String?
    /// The start of the database condition the status line shows (`nil`: none): a new one, or
    /// its end, is published at once.
    private var publishedConditionStart: Int64?

    init(
        database: any ReportStore & PollWriteStore,
        intervalMs: Int64,
        requestsPerSecond: Int,
        wallNowMs: @escaping @Sendable () -> Int64,
        logger: Logger,
        metrics: SyncMetrics?,
        configuredSinks: @escaping @Sendable () -> [String],
        health: DatabaseHealth? = nil,
        publishStatus: @escaping @Sendable (String) -> Void
    ) {
        self.health = health
        self.database = database
        self.intervalMs = intervalMs
        self.requestsPerSecond = requestsPerSecond
        self.wallNowMs = wallNowMs
        self.logger = logger
        self.publishStatus = publishStatus
        self.metrics = metrics
        self.configuredSinks = configuredSinks
        cycle = CycleTotals(startedMs: wallNowMs())
    }

    func record(_ outcome: PollOutcome) {
        cycle.add(outcome)
        // One that stopped without its lease is no outcome of the contact's: another instance has it.
        if !outcome.stoppedWithoutLease { metrics?.recordPoll(outcome.result.contactStatus) }
        metrics?.recordEvents(
            new: outcome.counts.new, duplicate: outcome.counts.duplicate, conflicting: outcome.counts.conflicting,
            quarantined: outcome.counts.quarantined)
    }

    /// Called on every turn of the loop: ends the cycle when its interval is over, refreshes
    /// the status line every few seconds.
    func turn(pacerPauses: Int) async throws {
        let now = wallNowMs()
        for _ in pausesSeen..<max(pausesSeen, pacerPauses) { metrics?.recordRateLimitPause() }
        pausesSeen = max(pausesSeen, pacerPauses)
        if now - statusRefreshedMs >= 5_000 || health?.condition?.sinceMs != publishedConditionStart {
            statusRefreshedMs = now
            do {
                try await refreshCounts(now: now)
                health?.succeeded(isWrite: false)
            } catch {
                health?.failed(error, operation: "status read", isWrite: false)
            }
            publishedConditionStart = health?.condition?.sinceMs
            publishStatus([health?.statusLine, publishedCounts].compactMap { $0 }.joined(separator: "; "))
        }
        guard now - cycle.run.startedMs >= intervalMs else { return }
        await endCycle(now: now, pacerPauses: pacerPauses)
    }

    /// Reads the counts of the status line and the gauges.
    private func refreshCounts(now: Int64) async throws {
        let snapshot = try await database.scheduleSnapshot(nowMs: now, dayStartMs: now - now % 86_400_000)
        metrics?.setContacts(
            due: snapshot.dueContacts, failing: snapshot.failingContacts, total: snapshot.enabledContacts)
        if let oldest = snapshot.oldestWatermarkMs { metrics?.setFreshness(seconds: Double(now - oldest) / 1000) }
        if let metrics {
            // A sink removed from the config keeps its cursor row, but no longer lags: its
            // series go, or its frozen lag would keep an alert firing.
            let configured = Set(configuredSinks())
            for sink in try await database.sinkStatuses() where configured.contains(sink.cursor.sink) {
                metrics.setSinkLag(
                    sink: sink.cursor.sink, events: sink.pendingEvents, seconds: Double(sink.lagMs(now: now)) / 1000
                )
            }
            for removed in sinksWithLag.subtracting(configured).sorted() { metrics.removeSink(removed) }
            sinksWithLag = configured
        }
        publishedCounts =
            "\(snapshot.enabledContacts) contacts, \(snapshot.dueContacts) due, \(snapshot.failingContacts) failing, "
            + "\(snapshot.eventsToday) events today"
    }

    private func endCycle(now: Int64, pacerPauses: Int) async {
        var finished = cycle
        finished.run.finishedMs = now
        cycle = CycleTotals(startedMs: now)
        let pauses = pacerPauses - pausesAtCycleStart
        pausesAtCycleStart = pacerPauses
        var run = finished.run
        if let trouble = health?.takeRunSummary() { run.error = trouble }
        logger.info(
            "Cycle finished",
            metadata: run.logMetadata.merging(
                ["contacts.not_found": "\(finished.notFound)", "rate_limit.pauses": "\(pauses)"]) { $1 })
        if finished.unsortedBodies > 0 {
            logger.warning(
                "The API returned bodies out of timestamp order despite sort=asc; they were not checkpointed",
                metadata: ["bodies": "\(finished.unsortedBodies)"])
        }
        metrics?.recordCycle(durationSeconds: Double(run.finishedMs - run.startedMs) / 1000)
        do {
            if run.contactsPolled > 0 || run.error != nil {
                try await database.recordRun(run)
                health?.succeeded(isWrite: true)
            }
        } catch {
            health?.failed(error, operation: "cycle summary write", isWrite: true)
        }
        guard let snapshot = try? await database.scheduleSnapshot(nowMs: now, dayStartMs: now - now % 86_400_000)
        else { return }
        let capacity = Int64(requestsPerSecond) * intervalMs / 1000
        if Int64(snapshot.enabledContacts) > capacity {
            logger.warning(
                "Contacts cannot all be polled within the interval at the allowed rate",
                metadata: [
                    "contacts.enabled": "\(snapshot.enabledContacts)",
                    "api.requests_per_second": "\(requestsPerSecond)",
                    "schedule.interval_seconds": "\(intervalMs / 1000)", "polls.per_interval.max": "\(capacity)",
                    "contacts.due": "\(snapshot.dueContacts)",
                ])
        }
    }
}
