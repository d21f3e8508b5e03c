import Config
import Logging
import NP6Model
import SyncStore

extension SinkDeliveryLoop {
    /// Delivers until caught up and reports; transient failures get `policy.drainAttempts` tries.
    func drain() async -> SinkDrainReport.Result {
        var result = SinkDrainReport.Result(sink: name)
        guard let databaseID = await prepare(attempts: policy.drainAttempts) else {
            result.error = "the database could not be read"
            return result
        }
        var failures = 0
        while !Task.isCancelled {
            switch await step(databaseID: databaseID) {
            case .delivered(let events, let deadLettered):
                result.delivered += events - deadLettered
                result.deadLettered += deadLettered
                failures = 0
            case .cursorMoved:
                continue
            case .caughtUp:
                return result
            case .databaseFailed(let reason):
                failures += 1
                let delay = policy.retryDelay(afterFailures: failures, retryAfter: nil, random: random())
                guard failures < policy.drainAttempts, delay <= policy.drainMaxDelay else {
                    logger.warning("Sink delivery failed; the next run retries", metadata: ["error": "\(reason)"])
                    result.error = reason
                    return result
                }
                try? await control.clock.sleep(for: delay)
            case .failed(.transient(let reason, let retryAfter)):
                failures += 1
                await record(.failing, reason)
                let delay = policy.retryDelay(afterFailures: failures, retryAfter: retryAfter, random: random())
                guard failures < policy.drainAttempts, delay <= policy.drainMaxDelay else {
                    logger.warning("Sink delivery failed; the next run retries", metadata: ["error": "\(reason)"])
                    result.error = reason
                    return result
                }
                logger.warning(
                    "Sink delivery failed; retrying",
                    metadata: ["error": "\(reason)", "retry.delay_ms": "\(delay.milliseconds)"])
                try? await control.clock.sleep(for: delay)
            case .failed(let error):
                await record(.stopped, error.reason)
                logger.error(
                    "Sink stopped: its receiver rejected the delivery; fix it, then run sinks replay",
                    metadata: ["error": "\(error.reason)"])
                result.error = error.reason
                result.stopped = true
                return result
            }
        }
        result.error = "cancelled"
        return result
    }
}
