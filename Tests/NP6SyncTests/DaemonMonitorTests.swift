import Logging
import Prometheus
import SQLiteStore
import SyncStore
import Synchronization
import Testing

@testable import NP6Sync

@Suite struct DaemonMonitorTests {
    @Test(.timeLimit(.minutes(1)))
    func sinkRemovedFromTheConfigurationStopsBeingReportedAsLagging() async throws {
        try await withSinkFixture { fixture in
            try await fixture.storeEvents(4)
            for sink in ["kept", "gone", "long gone"] {
                _ = try await fixture.database.createSinkCursor(sink, startingAfterLatest: false, now: 0)
            }
            let configured = Mutex(["kept", "gone"])
            let clock = Mutex<Int64>(1_800_000_000_000)
            let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
            let monitor = DaemonMonitor(
                database: fixture.database, intervalMs: 3_600_000, requestsPerSecond: 5,
                wallNowMs: { clock.withLock { $0 } }, logger: fixture.logger, metrics: metrics,
                configuredSinks: { configured.withLock { $0 } }, publishStatus: { _ in })

            try await monitor.turn(pacerPauses: 0)
            var text = metrics.exposition()
            #expect(text.contains(#"np6sync_sink_lag_events{sink="kept"} 4.0"# + "\n"))
            #expect(text.contains(#"np6sync_sink_lag_events{sink="gone"} 4.0"# + "\n"))
            #expect(!text.contains(#"sink="long gone""#), "a cursor of a sink not in the config is not a lagging sink")

            configured.withLock { $0 = ["kept"] }  // SIGHUP with "gone" removed
            clock.withLock { $0 += 5_000 }  // the next refresh
            try await monitor.turn(pacerPauses: 0)
            text = metrics.exposition()
            #expect(text.contains(#"np6sync_sink_lag_events{sink="kept"} 4.0"# + "\n"))
            #expect(!text.contains(#"sink="gone""#), "the removed sink's series are gone")
            #expect(try await fixture.database.sinkCursor("gone")?.deliveredSeq == 0, "its cursor is kept")
        }
    }
}
