import Config
import SyncStore

/// Where stored events go: a CRM webhook, a file, a program.
///
/// A sink receives batches in `seq` order, each event in the same record
/// (``SyncStore/StoredEvent/recordJSON``), and returns only once the receiver has acknowledged
/// the whole batch. Delivery is at least once: after a crash or a retry a batch may arrive
/// again, so receivers dedupe on the event `id`.
///
/// ```swift
/// struct PrintingSink: EventSink {
///     let name = "print"
///     func deliver(_ batch: [StoredEvent]) async throws {
///         for event in batch { print(event.recordJSON) }
///     }
/// }
/// ```
/// A new sink type is one file with the type and one line in ``SinkRegistry``.
public protocol EventSink: Sendable {
    /// The configured `name`; it keys the sink's cursor in the database.
    var name: String { get }

    /// Delivers a non-empty batch and returns when the receiver acknowledged all of it.
    ///
    /// - Throws: a ``SinkError`` saying whether to retry (`transient`), set the batch aside or
    ///   stop (`permanent`) or stop (`refused`). Any other error counts as transient. The
    ///   message may be logged and stored: it must never contain a secret.
    func deliver(_ batch: [StoredEvent]) async throws

    /// Delivers a batch as part of `delivery`, which names it for the receiver (the webhook's
    /// `Idempotency-Key`). The delivery loops call this one; by default it calls
    /// ``deliver(_:)``, for sinks whose receivers dedupe on the event `id` alone.
    func deliver(_ batch: [StoredEvent], as delivery: SinkDelivery) async throws
}

extension EventSink {
    public func deliver(_ batch: [StoredEvent], as delivery: SinkDelivery) async throws {
        try await deliver(batch)
    }
}
