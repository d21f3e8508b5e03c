import Config
import Logging
import NP6Model
import SyncStore

extension SinkDeliveryLoop {
    /// Delivers `batch`, the events right after `cursor`. On a permanent rejection the batch is
    /// halved and each half delivered in turn, down to single events, which are recorded as
    /// dead letters with the receiver's answer; the cursor advances after each acknowledged
    /// part, so a transient failure midway resumes where it stopped.
    func deliverIsolatingRejections(
        _ batch: ArraySlice<StoredEvent>, after cursor: Int64, as delivery: SinkDelivery, fencedBy leaseToken: Int64?
    ) async throws -> Step {
        guard let error = await attempt(batch, as: delivery) else {
            let moved = try await database.advanceSinkCursor(
                name, from: cursor, to: batch[batch.endIndex - 1].seq, now: nowMs(), fencedBy: leaseToken)
            guard moved else { return .cursorMoved }
            metrics?.recordSinkDelivered(sink: name, events: batch.count)
            return .delivered(events: batch.count, deadLettered: 0)
        }
        guard case .permanent(let answer) = error else { return .failed(error) }
        if batch.count == 1 {
            let event = batch[batch.startIndex]
            guard
                try await database.recordDeadLetter(
                    name, event: event, answer: answer, advancingCursorFrom: cursor, now: nowMs(),
                    fencedBy: leaseToken)
            else { return .cursorMoved }
            logger.warning(
                "Sink rejected an event; recorded as a dead letter",
                metadata: ["event.seq": "\(event.seq)", "event.id": "\(event.id)", "error": "\(answer)"])
            return .delivered(events: 1, deadLettered: 1)
        }
        let middle = batch.startIndex + batch.count / 2
        let first = try await deliverIsolatingRejections(
            batch[..<middle], after: cursor, as: delivery, fencedBy: leaseToken)
        guard case .delivered(let firstEvents, let firstDead) = first else { return first }
        let second = try await deliverIsolatingRejections(
            batch[middle...], after: batch[middle - 1].seq, as: delivery, fencedBy: leaseToken)
        guard case .delivered(let secondEvents, let secondDead) = second else {
            // The first half is acknowledged and recorded: report it, the loop retries the rest.
            if case .failed = second { return second }
            return .delivered(events: firstEvents, deadLettered: firstDead)
        }
        return .delivered(events: firstEvents + secondEvents, deadLettered: firstDead + secondDead)
    }
}
