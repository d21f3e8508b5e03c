import Prometheus

/// Names and help texts: one place to read what `/metrics` shows. (Computed: the descriptor
/// type is not `Sendable`, so it cannot be a static constant.)
extension SyncMetrics {
    static var pollsTotal: MetricNameDescriptor {
        descriptor(
            "polls", "total", "Polls of one contact, by outcome (ok, not_found, failed, rate_limited, unauthorized).")
    }
    static var requestDurationSeconds: MetricNameDescriptor {
        descriptor(
            "request_duration", "seconds",
            "Duration of NP6 API requests, by HTTP status class (2xx, 4xx, 5xx; error: no response).")
    }
    static var eventsTotal: MetricNameDescriptor {
        descriptor(
            "events", "total",
            "Events received from the API, by result: new (stored), duplicate (already stored), "
                + "conflicting (already stored with another payload), quarantined (malformed, first seen)."
        )
    }
    static var rateLimitPausesTotal: MetricNameDescriptor {
        descriptor(
            "rate_limit_pauses", "total", "Pauses of every request after a 429 or an exhausted X-RateLimit-Remaining.")
    }
    static var watermarkLagSeconds: MetricNameDescriptor {
        descriptor("watermark_lag", "seconds", "Now minus the oldest watermark of an enabled contact.")
    }
    static var clockSkewSeconds: MetricNameDescriptor {
        descriptor(
            "clock_skew", "seconds",
            "The local clock minus the API's (its Date header), as the last answer measured it; positive: local ahead.")
    }
    static var instancesGauge: MetricNameDescriptor {
        descriptor(
            "instances", "",
            "Live daemons sharing the database and the API's rate limit, this one included (1 on SQLite).")
    }
    static var contactsGauge: MetricNameDescriptor {
        descriptor("contacts", "", "Enabled contacts.")
    }
    static var contactsDueGauge: MetricNameDescriptor {
        descriptor("contacts_due", "", "Enabled contacts due for a poll.")
    }
    static var contactsFailingGauge: MetricNameDescriptor {
        descriptor("contacts_failing", "", "Enabled contacts whose last poll failed, was rate limited or unauthorized.")
    }
    static var cycleDurationSeconds: MetricNameDescriptor {
        descriptor("cycle_duration", "seconds", "Duration of scheduler cycles.")
    }
    static var lastCycleEndTimestampSeconds: MetricNameDescriptor {
        descriptor(
            "last_cycle_end_timestamp", "seconds", "When the last scheduler cycle ended, in seconds since the epoch.")
    }
    static var sinkLagEvents: MetricNameDescriptor {
        descriptor("sink_lag", "events", "Stored events a sink has not delivered yet.")
    }
    static var sinkLagSeconds: MetricNameDescriptor {
        descriptor(
            "sink_lag", "seconds", "Age of the oldest stored event a sink has not delivered yet (0 when caught up).")
    }
    static var sinkDeliveredEventsTotal: MetricNameDescriptor {
        descriptor("sink_delivered_events", "total", "Events delivered by a sink (at least once).")
    }
    static var sinkFailuresTotal: MetricNameDescriptor {
        descriptor("sink_failures", "total", "Failed delivery attempts of a sink; it backs off and retries.")
    }

    static var databaseErrorsTotal: MetricNameDescriptor {
        descriptor(
            "database_errors", "total",
            "Store operations the database refused, by code (busy, full, ioerr, readonly, other); "
                + "each is retried with backoff.")
    }

    /// Every metric the daemon declares, for the tests that check what the docs and the
    /// operations kit name against it.
    static var allDescriptors: [MetricNameDescriptor] {
        [
            pollsTotal, requestDurationSeconds, eventsTotal, rateLimitPausesTotal, watermarkLagSeconds,
            clockSkewSeconds, instancesGauge, contactsGauge, contactsDueGauge, contactsFailingGauge,
            cycleDurationSeconds, lastCycleEndTimestampSeconds, sinkLagEvents, sinkLagSeconds,
            sinkDeliveredEventsTotal, sinkFailuresTotal, databaseErrorsTotal,
        ]
    }

    private static func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "np6sync", metricName: name, unitName: unit, helpText: help)
    }
}
