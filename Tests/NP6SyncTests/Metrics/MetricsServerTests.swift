import AsyncHTTPClient
import Config
import Logging
import NIOCore
import NIOHTTP1
import NP6Model
import Prometheus
import SQLiteStore
import ServiceLifecycle
import ServiceLifecycleTestKit
import Sinks
import SyncStore
import Testing

@testable import NP6Sync

@Suite(.timeLimit(.minutes(5))) struct MetricsServerTests {
    @Test func scrapeShowsCountersMoving() async throws {
        let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
        try await withMetricsServer(metrics) { port in
            let first = try await scrape(port: port)
            #expect(first.status == 200)
            #expect(first.contentType == MetricsServer.contentType)
            #expect(first.body.contains(#"np6sync_polls_total{outcome="ok"} 0"#))

            metrics.recordPoll(outcome: "ok")
            metrics.recordPoll(outcome: "ok")
            metrics.recordEvents(new: 9, duplicate: 3, conflicting: 0, quarantined: 0)
            metrics.recordRequest(durationSeconds: 0.12, status: 200)
            metrics.setSinkLag(sink: "crm", events: 4, seconds: 1.5)

            let second = try await scrape(port: port)
            for line in [
                #"np6sync_polls_total{outcome="ok"} 2"#,
                #"np6sync_events_total{result="new"} 9"#,
                #"np6sync_events_total{result="duplicate"} 3"#,
                #"np6sync_request_duration_seconds_count{status_class="2xx"} 1"#,
                #"np6sync_sink_lag_events{sink="crm"} 4.0"#,
            ] {
                #expect(second.body.contains(line + "\n"), "missing: \(line)")
            }

            let other = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(60))
            #expect(other.status == .notFound)
        }
    }

    @Test func gracefulShutdownStopsTheServer() async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = MetricsServer(
            address: .init(host: "127.0.0.1", port: 0), registry: PrometheusCollectorRegistry(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            onReady: { continuation.yield($0) })
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                var iterator = ports.makeAsyncIterator()
                let port = try #require(await iterator.next())
                #expect(try await scrape(port: port).status == 200)
                trigger.triggerGracefulShutdown()
                // run() returns by itself, without an error: no cancellation needed.
                try await group.next()
                // The client retries a refused connection until the deadline: keep it short.
                await #expect(throws: (any Error).self) { try await scrape(port: port, timeout: .seconds(1)) }
            }
        }
    }

    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("[::1]:9464", "::1", 9464),
        ("localhost:1", "localhost", 1),
        ("0.0.0.0:65535", "0.0.0.0", 65535),
    ])
    func listenAddressesParse(text: String, host: String, port: Int) throws {
        let configuration = try #require(try listenConfiguration(text))
        let address = MetricsServer(
            configuration: configuration, registry: PrometheusCollectorRegistry(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        ).address
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == text)
    }

    @Test(arguments: [
        "127.0.0.1", "127.0.0.1:", ":9464", "::1:9464", "[::1]", "[::1]9464", "host:65536", "host:-1", "a b:1",
        "host:0",
    ])
    func malformedListenAddressesAreRefused(text: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try listenConfiguration(text) }
        let issues = error.issues.map(\.description)
        #expect(!issues.isEmpty && issues.allSatisfy { $0.hasPrefix("metrics.listen: ") }, "\(issues)")
    }

    /// `metrics.listen` read as the daemon reads it: from the config file.
    private func listenConfiguration(_ text: String) throws -> MetricsConfiguration? {
        try SyncConfiguration.parse(#"{"metrics": {"listen": "\#(text)"}}"#, environment: [:]).metrics
    }
}

/// Runs a metrics server on 127.0.0.1 and an ephemeral port inside a `ServiceGroup`, as the
/// daemon does, for the duration of `body`; then shuts the group down gracefully.
private func withMetricsServer(
    _ metrics: SyncMetrics,
    _ body: (Int) async throws -> Void
) async throws {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let server = MetricsServer(
        address: .init(host: "127.0.0.1", port: 0), registry: metrics.registry, logger: logger,
        onReady: { continuation.yield($0) })
    let group = ServiceGroup(services: [server], logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await tasks.next()
            Issue.record("the metrics server stopped before listening")
            return
        }
        do {
            try await body(port)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

private func scrape(
    port: Int, timeout: TimeAmount = .seconds(60)
) async throws -> (status: UInt, contentType: String?, body: String) {
    let response = try await HTTPClient.shared.execute(
        HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: timeout)
    let body = try await response.body.collect(upTo: 1 << 20)
    return (response.status.code, response.headers.first(name: "content-type"), String(buffer: body))
}
