import AsyncHTTPClient
import Config
import Logging
import NP6Model
import SyncStore

/// One-shot delivery, for `np6-sync sync` and `np6-sync sinks replay --dead-letters`.
extension SinkSupervisor {
    /// Delivers everything pending to every sink, concurrently, and returns when each has caught
    /// up or failed. A transient failure is retried `policy.drainAttempts` times with backoff;
    /// a rejection records the sink `stopped`. Do not call it while ``run()`` delivers.
    public func drainOnce() async -> SinkDrainReport {
        let sinks = self.sinks
        guard !sinks.isEmpty else { return SinkDrainReport(results: []) }
        let results = try? await withHTTPClient { client in
            await withTaskGroup(of: (Int, SinkDrainReport.Result).self) { group in
                for (index, configuration) in sinks.enumerated() {
                    group.addTask { (index, await self.drain(configuration, client: client)) }
                }
                var results = sinks.map { SinkDrainReport.Result(sink: $0.name) }
                for await (index, result) in group { results[index] = result }
                return results
            }
        }
        return SinkDrainReport(results: results ?? [])
    }

    private func drain(_ configuration: SinkConfiguration, client: HTTPClient) async -> SinkDrainReport.Result {
        let logger = sinkLogger(configuration)
        do {
            let sink = try registry.makeSink(
                configuration, context: SinkContext(httpClient: client, logger: logger, clock: clock))
            return await SinkDeliveryLoop(
                configuration: configuration, sink: sink, database: database, policy: policy,
                control: SinkLoopControl(clock: clock), logger: logger, metrics: metrics
            ).drain()
        } catch {
            await recordCannotStart(configuration, error: error, logger: logger)
            var result = SinkDrainReport.Result(sink: configuration.name)
            result.error = "cannot start: \(error)"
            result.isConfigurationError = error is ConfigurationError
            return result
        }
    }

    /// Sends the sink's dead letters again, one event per delivery, oldest first: those
    /// acknowledged are marked resent, those rejected again get the new answer. Stops at the
    /// first transient failure or refusal. Works whether or not the daemon runs. It starts a new
    /// delivery generation first, as every replay does: a receiver that remembered its answer to
    /// the first attempt's idempotency key sees a new key.
    ///
    /// - Throws: ``SinkSupervisorError/unknownSink(_:configured:)``, a database error, or what
    ///   building the sink throws (e.g. `ConfigurationError` for an unreadable secret).
    public func resendDeadLetters(of name: String) async throws -> DeadLetterResendReport {
        guard let configuration = sinks.first(where: { $0.name == name }) else {
            throw SinkSupervisorError.unknownSink(name, configured: sinks.map(\.name))
        }
        let letters = try await database.pendingDeadLetters(for: name)
        var report = DeadLetterResendReport()
        guard !letters.isEmpty else { return report }
        let logger = sinkLogger(configuration)
        return try await withHTTPClient { client in
            let sink = try registry.makeSink(
                configuration, context: SinkContext(httpClient: client, logger: logger, clock: clock))
            let delivery = SinkDelivery(
                databaseID: try await database.databaseID(),
                generation: try await database.startDeliveryGeneration(name, now: WallClock.nowMs()))
            for letter in letters {
                guard let event = letter.event else {
                    report.missing += 1
                    continue
                }
                var rejection: String?
                do {
                    try await sink.deliver([event], as: delivery)
                } catch SinkError.permanent(let answer) {
                    rejection = answer
                } catch {
                    report.error = (error as? SinkError)?.description ?? "\(error)"
                    logger.warning("Dead letter resend stopped", metadata: ["error": "\(report.error ?? "")"])
                    break
                }
                try await database.recordDeadLetterResend(
                    name, seq: event.seq, rejectedWith: rejection, now: WallClock.nowMs())
                if let rejection {
                    report.rejected += 1
                    logger.warning(
                        "Dead letter rejected again",
                        metadata: ["event.seq": "\(event.seq)", "event.id": "\(event.id)", "error": "\(rejection)"])
                } else {
                    report.resent += 1
                    logger.info(
                        "Dead letter resent", metadata: ["event.seq": "\(event.seq)", "event.id": "\(event.id)"])
                }
            }
            return report
        }
    }
}
