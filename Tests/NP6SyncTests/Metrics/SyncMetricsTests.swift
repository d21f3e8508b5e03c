import Config
import NP6Model
import Prometheus
import SQLiteStore
import Sinks
import SyncStore
import Testing

@testable import NP6Sync

@Suite struct SyncMetricsTests {
    @Test func everyFixedSeriesIsExposedAtZeroFromTheStart() {
        let text = SyncMetrics(registry: PrometheusCollectorRegistry()).exposition()
        for line in [
            #"np6sync_polls_total{outcome="ok"} 0"#,
            #"np6sync_polls_total{outcome="not_found"} 0"#,
            #"np6sync_polls_total{outcome="failed"} 0"#,
            #"np6sync_polls_total{outcome="rate_limited"} 0"#,
            #"np6sync_polls_total{outcome="unauthorized"} 0"#,
            #"np6sync_events_total{result="new"} 0"#,
            #"np6sync_events_total{result="duplicate"} 0"#,
            #"np6sync_events_total{result="quarantined"} 0"#,
            "np6sync_rate_limit_pauses_total 0",
            "# TYPE np6sync_clock_skew_seconds gauge",
            "np6sync_instances 1.0",
            #"np6sync_request_duration_seconds_count{status_class="2xx"} 0"#,
            "np6sync_cycle_duration_seconds_count 0",
            "# TYPE np6sync_polls_total counter",
            "# TYPE np6sync_request_duration_seconds histogram",
            "# TYPE np6sync_watermark_lag_seconds gauge",
            "# HELP np6sync_watermark_lag_seconds Now minus the oldest watermark of an enabled contact.",
        ] {
            #expect(text.contains(line + "\n"), "missing: \(line)")
        }
        #expect(!text.contains("sink"), "sink series appear once a sink reports")
    }

    @Test func recordingMovesTheRightSeries() {
        let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
        metrics.recordPoll(outcome: "ok")
        metrics.recordPoll(outcome: "ok")
        metrics.recordPoll(.notFound)
        metrics.recordPoll(outcome: "something new")
        metrics.recordEvents(new: 5, duplicate: 2, conflicting: 1, quarantined: 1)
        metrics.recordEvents(new: 1, duplicate: 0, conflicting: 0, quarantined: -3)
        metrics.recordRateLimitPause()
        metrics.setFreshness(seconds: 42.5)
        metrics.setContacts(due: 3, failing: 1, total: 12)
        metrics.recordCycle(durationSeconds: 2, endedAtSeconds: 1_700_000_000)

        let text = metrics.exposition()
        for line in [
            #"np6sync_polls_total{outcome="ok"} 2"#,
            #"np6sync_polls_total{outcome="not_found"} 1"#,
            #"np6sync_polls_total{outcome="other"} 1"#,
            #"np6sync_events_total{result="new"} 6"#,
            #"np6sync_events_total{result="duplicate"} 2"#,
            #"np6sync_events_total{result="conflicting"} 1"#,
            #"np6sync_events_total{result="quarantined"} 1"#,
            "np6sync_rate_limit_pauses_total 1",
            "np6sync_watermark_lag_seconds 42.5",
            "np6sync_contacts 12.0",
            "np6sync_contacts_due 3.0",
            "np6sync_contacts_failing 1.0",
            #"np6sync_cycle_duration_seconds_bucket{le="5.0"} 1"#,
            "np6sync_cycle_duration_seconds_count 1",
            "np6sync_last_cycle_end_timestamp_seconds 1700000000.0",
        ] {
            #expect(text.contains(line + "\n"), "missing: \(line)")
        }
    }

    @Test func requestLatencyIsBucketedByStatusClass() {
        let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
        metrics.recordRequest(durationSeconds: 0.003, status: 200)
        metrics.recordRequest(durationSeconds: 0.2, status: 204)
        metrics.recordRequest(durationSeconds: 1.5, status: 503)
        metrics.recordRequest(durationSeconds: 30, status: nil)
        metrics.recordRequest(durationSeconds: 0.01, status: 429)

        let text = metrics.exposition()
        for line in [
            #"np6sync_request_duration_seconds_bucket{status_class="2xx",le="0.005"} 1"#,
            #"np6sync_request_duration_seconds_bucket{status_class="2xx",le="0.25"} 2"#,
            #"np6sync_request_duration_seconds_bucket{status_class="2xx",le="+Inf"} 2"#,
            #"np6sync_request_duration_seconds_count{status_class="2xx"} 2"#,
            #"np6sync_request_duration_seconds_bucket{status_class="5xx",le="1.0"} 0"#,
            #"np6sync_request_duration_seconds_bucket{status_class="5xx",le="2.5"} 1"#,
            #"np6sync_request_duration_seconds_bucket{status_class="error",le="30.0"} 1"#,
            #"np6sync_request_duration_seconds_count{status_class="4xx"} 1"#,
            #"np6sync_request_duration_seconds_bucket{status_class="4xx",le="60.0"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "missing: \(line)")
        }
        #expect(SyncMetrics.statusClass(302) == "3xx")
        #expect(SyncMetrics.statusClass(nil) == "error")
        #expect(SyncMetrics.statusClass(0) == "error")
    }

    @Test func sinkSeriesAreLabelledBySinkAndCanBeRemoved() {
        let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
        metrics.setSinkLag(sink: "crm", events: 7, seconds: 12)
        metrics.recordSinkDelivered(sink: "crm", events: 100)
        metrics.recordSinkDelivered(sink: "crm", events: 20)
        metrics.recordSinkFailure(sink: "audit")
        metrics.setSinkLag(sink: "crm", events: 0, seconds: 0)

        var text = metrics.exposition()
        for line in [
            #"np6sync_sink_lag_events{sink="crm"} 0.0"#,
            #"np6sync_sink_lag_seconds{sink="crm"} 0.0"#,
            #"np6sync_sink_delivered_events_total{sink="crm"} 120"#,
            #"np6sync_sink_failures_total{sink="audit"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "missing: \(line)")
        }
        metrics.removeSink("crm")
        text = metrics.exposition()
        #expect(!text.contains(#"sink="crm""#))
        #expect(text.contains(#"np6sync_sink_failures_total{sink="audit"} 1"#))
    }

    @Test func instancesAreIndependent() {
        let first = SyncMetrics(registry: PrometheusCollectorRegistry())
        let second = SyncMetrics(registry: PrometheusCollectorRegistry())
        first.recordPoll(outcome: "failed")
        #expect(first.exposition().contains(#"np6sync_polls_total{outcome="failed"} 1"#))
        #expect(second.exposition().contains(#"np6sync_polls_total{outcome="failed"} 0"#))
    }
}
