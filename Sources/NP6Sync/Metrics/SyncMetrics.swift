import NP6Model
import Prometheus
import Sinks
import SyncStore

/// The daemon's Prometheus metrics, all named `np6sync_…`, registered in the registry it is given.
///
/// Each instance owns its series, so tests make as many as they like; nothing touches the global
/// `MetricsSystem`. Labels are of low cardinality only: a poll outcome, an HTTP status class, an
/// event result, a sink name — never a contact.
///
/// ```swift
/// let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
/// metrics.recordPoll(outcome: "ok")
/// print(metrics.exposition())   // np6sync_polls_total{outcome="ok"} 1 …
/// ```
public final class SyncMetrics: SinkDeliveryMetrics {
    /// The registry the series live in; ``MetricsServer`` serves it.
    public let registry: PrometheusCollectorRegistry

    private let polls: [String: Counter]
    private let pollsOther: Counter
    private let eventsNew: Counter
    private let eventsDuplicate: Counter
    private let eventsConflicting: Counter
    private let eventsQuarantined: Counter
    private let rateLimitPauses: Counter
    private let watermarkLag: Gauge
    private let clockSkew: Gauge
    private let instances: Gauge
    private let contactsDue: Gauge
    private let contactsFailing: Gauge
    private let contacts: Gauge
    private let cycleDuration: ValueHistogram
    private let lastCycleEnd: Gauge
    private let databaseErrors: [DatabaseErrorCode: Counter]

    /// Request latency buckets, 5 ms to 60 s: a quick empty answer to a long backfill stream.
    public static let requestDurationBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]
    /// Cycle duration buckets, 100 ms to 1 h: one pass over every due contact.
    public static let cycleDurationBuckets: [Double] = [
        0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
    ]

    /// Registers every series that does not depend on the configuration, at zero, so that rates
    /// and alerts see them from the first scrape.
    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        var polls: [String: Counter] = [:]
        for status in ContactStatus.allCases {
            polls[status.rawValue] = registry.makeCounter(
                descriptor: Self.pollsTotal, labels: [("outcome", status.rawValue)])
        }
        self.polls = polls
        pollsOther = registry.makeCounter(descriptor: Self.pollsTotal, labels: [("outcome", "other")])
        eventsNew = registry.makeCounter(descriptor: Self.eventsTotal, labels: [("result", "new")])
        eventsDuplicate = registry.makeCounter(descriptor: Self.eventsTotal, labels: [("result", "duplicate")])
        eventsConflicting = registry.makeCounter(descriptor: Self.eventsTotal, labels: [("result", "conflicting")])
        eventsQuarantined = registry.makeCounter(descriptor: Self.eventsTotal, labels: [("result", "quarantined")])
        rateLimitPauses = registry.makeCounter(descriptor: Self.rateLimitPausesTotal)
        watermarkLag = registry.makeGauge(descriptor: Self.watermarkLagSeconds)
        clockSkew = registry.makeGauge(descriptor: Self.clockSkewSeconds)
        instances = registry.makeGauge(descriptor: Self.instancesGauge)
        instances.set(1.0)
        contacts = registry.makeGauge(descriptor: Self.contactsGauge)
        contactsDue = registry.makeGauge(descriptor: Self.contactsDueGauge)
        contactsFailing = registry.makeGauge(descriptor: Self.contactsFailingGauge)
        cycleDuration = registry.makeValueHistogram(
            descriptor: Self.cycleDurationSeconds, buckets: Self.cycleDurationBuckets)
        lastCycleEnd = registry.makeGauge(descriptor: Self.lastCycleEndTimestampSeconds)
        var databaseErrors: [DatabaseErrorCode: Counter] = [:]
        for code in DatabaseErrorCode.allCases {
            databaseErrors[code] = registry.makeCounter(
                descriptor: Self.databaseErrorsTotal, labels: [("code", code.rawValue)])
        }
        self.databaseErrors = databaseErrors
        for statusClass in ["2xx", "4xx", "5xx", "error"] {
            _ = requestDuration(statusClass: statusClass)
        }
    }

    // MARK: Polls and requests

    /// One poll of one contact ended: `ok`, `not_found`, `failed`, `rate_limited` or
    /// `unauthorized` (anything else is counted as `other`).
    public func recordPoll(outcome: String) {
        (polls[outcome] ?? pollsOther).increment()
    }

    /// One poll of one contact ended with this `contacts.last_status`.
    public func recordPoll(_ status: ContactStatus) {
        recordPoll(outcome: status.rawValue)
    }

    /// One HTTP request to the API took this long; `status` is `nil` when no response came
    /// (timeout, refused or dropped connection), counted as `error`.
    public func recordRequest(durationSeconds: Double, status: Int?) {
        requestDuration(statusClass: Self.statusClass(status)).record(max(0, durationSeconds))
    }

    /// Events of one poll: stored, already stored (deduplicated), already stored with another
    /// payload, set aside as malformed.
    public func recordEvents(new: Int, duplicate: Int, conflicting: Int, quarantined: Int) {
        eventsNew.increment(by: Int64(max(0, new)))
        eventsDuplicate.increment(by: Int64(max(0, duplicate)))
        eventsConflicting.increment(by: Int64(max(0, conflicting)))
        eventsQuarantined.increment(by: Int64(max(0, quarantined)))
    }

    /// Every request was paused for a 429 or an exhausted `X-RateLimit-Remaining`.
    public func recordRateLimitPause() {
        rateLimitPauses.increment()
    }

    /// The database refused a store operation (a poll's writes, a read, a sink's cursor).
    public func recordDatabaseError(_ code: DatabaseErrorCode) {
        databaseErrors[code]?.increment()
    }

    // MARK: Contacts and cycles

    /// Now minus the oldest watermark of an enabled contact: how stale the least fresh contact is.
    public func setFreshness(seconds: Double) {
        watermarkLag.set(max(0, seconds))
    }

    /// The local clock minus the API's (its `Date` header), in seconds; positive: local ahead.
    public func setClockSkew(seconds: Double) {
        clockSkew.set(seconds)
    }

    /// The live instances sharing the database and the API's limit, as the last heartbeat counted.
    public func setLiveInstances(_ count: Int) {
        instances.set(Double(count))
    }

    /// The enabled contacts: due now, failing (last poll not `ok` nor `not_found`), in all.
    public func setContacts(due: Int, failing: Int, total: Int) {
        contactsDue.set(Double(due))
        contactsFailing.set(Double(failing))
        contacts.set(Double(total))
    }

    /// A scheduler cycle ended after this long.
    public func recordCycle(durationSeconds: Double, endedAtSeconds: Double = Double(WallClock.nowMs()) / 1000) {
        cycleDuration.record(max(0, durationSeconds))
        lastCycleEnd.set(endedAtSeconds)
    }

    // MARK: Sinks

    /// How far a sink is behind ingestion: stored events not yet delivered, and the age of the
    /// oldest of them (0 when caught up).
    public func setSinkLag(sink: String, events: Int, seconds: Double) {
        registry.makeGauge(descriptor: Self.sinkLagEvents, labels: [("sink", sink)]).set(Double(max(0, events)))
        registry.makeGauge(descriptor: Self.sinkLagSeconds, labels: [("sink", sink)]).set(max(0, seconds))
        // A configured sink's counters exist from the start, at 0: `increase()` in an alert
        // needs a sample before the first delivery or failure.
        _ = registry.makeCounter(descriptor: Self.sinkDeliveredEventsTotal, labels: [("sink", sink)])
        _ = registry.makeCounter(descriptor: Self.sinkFailuresTotal, labels: [("sink", sink)])
    }

    /// A batch of this many events was delivered and the sink's cursor advanced.
    public func recordSinkDelivered(sink: String, events: Int) {
        registry.makeCounter(descriptor: Self.sinkDeliveredEventsTotal, labels: [("sink", sink)])
            .increment(by: Int64(max(0, events)))
    }

    /// A delivery attempt failed; the sink backs off and retries the same batch.
    public func recordSinkFailure(sink: String) {
        registry.makeCounter(descriptor: Self.sinkFailuresTotal, labels: [("sink", sink)]).increment()
    }

    /// Drops a sink's series, when a reload removed it from the configuration: its frozen lag
    /// would otherwise keep an alert firing.
    public func removeSink(_ sink: String) {
        let labels = [("sink", sink)]
        registry.unregisterGauge(registry.makeGauge(descriptor: Self.sinkLagEvents, labels: labels))
        registry.unregisterGauge(registry.makeGauge(descriptor: Self.sinkLagSeconds, labels: labels))
        registry.unregisterCounter(registry.makeCounter(descriptor: Self.sinkDeliveredEventsTotal, labels: labels))
        registry.unregisterCounter(registry.makeCounter(descriptor: Self.sinkFailuresTotal, labels: labels))
    }

    // MARK: Exposition

    /// Every series of the registry in the Prometheus text format (version 0.0.4).
    public func exposition() -> String {
        registry.emitToString()
    }

    // MARK: Helpers

    /// The registry returns the series already registered under these labels, so the set stays
    /// bounded by the status classes.
    private func requestDuration(statusClass: String) -> ValueHistogram {
        registry.makeValueHistogram(
            descriptor: Self.requestDurationSeconds, labels: [("status_class", statusClass)],
            buckets: Self.requestDurationBuckets)
    }

    static func statusClass(_ status: Int?) -> String {
        guard let status, (100...599).contains(status) else { return "error" }
        return "\(status / 100)xx"
    }
}
