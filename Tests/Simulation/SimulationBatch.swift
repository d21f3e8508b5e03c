import Foundation

/// Many seeds, run side by side (each seed's world is its own: runs share nothing).
public enum SimulationBatch {
    public static func run(
        seeds: Range<UInt64>, openIssues: Set<Simulator.OpenIssue> = [], canary: Simulator.Canary? = nil,
        keepTraces: Bool = false, parallelism: Int = ProcessInfo.processInfo.activeProcessorCount
    ) async -> [Simulator.Result] {
        await withTaskGroup(of: Simulator.Result.self) { group in
            var next = seeds.lowerBound
            var results: [Simulator.Result] = []
            func start(_ group: inout TaskGroup<Simulator.Result>) {
                guard next < seeds.upperBound else { return }
                let options = Simulator.Options(seed: next, openIssues: openIssues, canary: canary)
                next += 1
                group.addTask {
                    var result = await Simulator.run(options)
                    if !keepTraces, result.failures.isEmpty { result.trace = [] }
                    return result
                }
            }
            for _ in 0..<max(1, parallelism) { start(&group) }
            for await result in group {
                results.append(result)
                start(&group)
            }
            return results.sorted { $0.options.seed < $1.options.seed }
        }
    }

    /// The first seed from 1 on that makes a failure, within `limit` seeds.
    public static func seedsToFind(_ canary: Simulator.Canary, limit: Int) async -> UInt64? {
        var from: UInt64 = 1
        while from <= UInt64(limit) {
            let chunk = from..<min(from + 16, UInt64(limit) + 1)
            let results = await run(seeds: chunk, canary: canary)
            if let found = results.first(where: { !$0.failures.isEmpty }) { return found.options.seed }
            from = chunk.upperBound
        }
        return nil
    }

    /// The line a run of many seeds ends with.
    public static func summary(_ results: [Simulator.Result], wall: Duration) -> String {
        let seconds = max(0.001, Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18)
        let simulatedHours = Double(results.map(\.simulatedMs).reduce(0, +)) / 3_600_000
        let failed = results.filter { !$0.failures.isEmpty }
        let concurrent = results.map(\.concurrentSleeps).reduce(0, +)
        return "simulation: \(results.count) seeds"
            + (results.first.map { " from \($0.options.seed)" } ?? "")
            + ", \(String(format: "%.1f", simulatedHours)) simulated hours, "
            + "\(results.map(\.requests).reduce(0, +)) requests, \(results.map(\.crashes).reduce(0, +)) crashes, "
            + "\(results.map(\.checks).reduce(0, +)) invariant checks, \(failed.count) failures"
            + (failed.isEmpty ? "" : " (seeds \(failed.map(\.options.seed).map(String.init).joined(separator: " ")))")
            + "; \(String(format: "%.1f", Double(results.count) / seconds)) seeds/s, "
            + "\(String(format: "%.0f", simulatedHours / seconds)) simulated hours per second"
            + (concurrent > 0 ? "; \(concurrent) concurrent sleeps on the engine's clock (nondeterminism)" : "")
    }

    /// What a failing seed prints: its failures, the command that replays it, its trace's end.
    public static func report(_ result: Simulator.Result, traceLines: Int = 80) -> String {
        var lines = ["seed \(result.options.seed) failed:"]
        lines += result.failures.prefix(10).map { "  - \($0)" }
        if result.failures.count > 10 { lines.append("  - … and \(result.failures.count - 10) more") }
        lines.append("replay: \(result.options.replayCommand)")
        lines.append("trace (last \(min(traceLines, result.trace.count)) of \(result.trace.count) lines):")
        lines += result.trace.suffix(traceLines).map { "  \($0)" }
        return lines.joined(separator: "\n")
    }
}
