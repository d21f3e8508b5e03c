import SyncStore

/// Which delivery of the event stream a batch belongs to: what names it for a receiver.
///
/// A batch's ``idempotencyKey(sink:batch:)`` is the same for every attempt of that batch, and
/// different for the same seqs delivered by another database or after a `sinks replay`.
public struct SinkDelivery: Sendable, Hashable {
    /// The database's identity (``SyncStore/SinkCursorStore/databaseID()``).
    public var databaseID: String
    /// The sink's delivery generation (``SyncStore/SinkCursor/deliveryGeneration``).
    public var generation: Int64

    public init(databaseID: String, generation: Int64) {
        self.databaseID = databaseID
        self.generation = generation
    }

    /// `DATABASE_ID:SINK:GENERATION:FIRST-LAST`, e.g.
    /// `1b4e28ba-2fa1-4d2b-883f-0016d3cca427:crm:1:101-150`: unique across databases, sinks and
    /// replays, and the same for every retry of a batch, so a receiver that already processed
    /// it may answer 2xx without doing the work again. Sink names have no `:`.
    public func idempotencyKey(sink: String, batch: [StoredEvent]) -> String {
        "\(databaseID):\(sink):\(generation):\(batch.first?.seq ?? 0)-\(batch.last?.seq ?? 0)"
    }
}
