import AsyncHTTPClient
import Foundation
import NIOCore
import TestClocks
import Testing

@testable import NP6Sync

/// The alerting rules and the dashboard in `deploy/` name only metrics the daemon exports.
@Suite(.timeLimit(.minutes(5))) struct OperationsKitTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let files = ["deploy/prometheus/np6-sync-alerts.yml", "deploy/grafana/np6-sync-dashboard.json"]

    /// Every `np6sync_…` name in `text` (histogram series keep their `_bucket`, `_count` suffix).
    static func metricNames(in text: String) -> Set<String> {
        Set(text.matches(of: /np6sync_[a-z_]+/).map { String($0.output) })
    }

    /// Whether the exposition has a sample of `name` (with or without labels).
    static func exports(_ name: String, in exposition: String) -> Bool {
        exposition.split(separator: "\n").contains { line in
            line.hasPrefix(name + "{") || line.hasPrefix(name + " ")
        }
    }

    @Test func everyMetricOfTheAlertsAndTheDashboardIsExported() async throws {
        var named: [String: Set<String>] = [:]
        for file in Self.files {
            let text = try String(contentsOf: Self.repository.appendingPathComponent(file), encoding: .utf8)
            named[file] = Self.metricNames(in: text)
            #expect(named[file, default: []].count >= 8, "\(file) names the daemon's metrics")
        }
        let all = named.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        let jsonl = FileManager.default.temporaryDirectory.appendingPathComponent("np6-kit-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: jsonl) }
        let sinks = #"[{"name": "file", "type": "jsonl", "path": "\#(jsonl.path)"}]"#
        let progress = StateChanges()
        let missing = try await DaemonTests().withDaemon(progress: progress, metrics: true, sinks: sinks) {
            _, _, metricsPort in
            try await eventually(timeout: .seconds(60), "the metrics endpoint listens", on: progress) {
                await metricsPort() != nil
            }
            let port = try #require(await metricsPort())
            var missing = all
            // Histograms and the cycle gauge appear once there is something to report.
            try await eventually(timeout: .seconds(60), "the daemon exports every metric the kit names", on: progress) {
                let response = try await HTTPClient.shared.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(30))
                let exposition = String(buffer: try await response.body.collect(upTo: 1 << 20))
                missing = all.filter { !Self.exports($0, in: exposition) }
                return missing.isEmpty
            }
            return missing
        }
        #expect(missing.isEmpty, "named in deploy/ but not exported: \(missing.sorted())")
    }

    @Test func namesAreFoundInTheFiles() {
        #expect(
            Self.metricNames(in: #"rate(np6sync_polls_total{x="y"}[5m]) + np6sync_sink_lag_seconds"#)
                == ["np6sync_polls_total", "np6sync_sink_lag_seconds"])
        #expect(Self.exports("np6sync_contacts", in: "np6sync_contacts 3.0\nnp6sync_contacts_due 1.0"))
        #expect(!Self.exports("np6sync_contact", in: "np6sync_contacts 3.0"))
    }
}
