import Crypto
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

    /// `DATABASE_ID:SINK:GENERATION:FIRST-LAST:DIGEST`, e.g.
    /// `1b4e28ba-2fa1-4d2b-883f-0016d3cca427:crm:1:101-150:5d41402abc4b2a76b9719d911017c592`:
    /// a function of what the batch holds, so equal keys mean equal batches. `DIGEST` covers each
    /// event's seq, id and payload (``contentDigest(of:)``): a database that went back in time (a
    /// backup restored, the tail of SQLite's WAL lost) and handed the same seqs to other events
    /// gives their batch another key. The same for every retry of a batch, so a receiver that
    /// already processed it may answer 2xx without doing the work again; different across
    /// databases, sinks and replays. Sink names have no `:`.
    public func idempotencyKey(sink: String, batch: [StoredEvent]) -> String {
        let range = "\(batch.first?.seq ?? 0)-\(batch.last?.seq ?? 0)"
        return "\(databaseID):\(sink):\(generation):\(range):\(Self.contentDigest(of: batch))"
    }

    /// The first 128 bits of SHA-256, in lower-case hex, over each event of the batch in order as
    /// `SEQ:ID_BYTES:ID:PAYLOAD_BYTES:PAYLOAD` (the byte counts of the UTF-8 id and payload keep
    /// the parts apart, so different batches never hash the same text).
    public static func contentDigest(of batch: [StoredEvent]) -> String {
        var hash = SHA256()
        for event in batch {
            hash.update(data: Array("\(event.seq):\(event.id.utf8.count):".utf8))
            hash.update(data: Array(event.id.utf8))
            hash.update(data: Array(":\(event.payload.utf8.count):".utf8))
            hash.update(data: Array(event.payload.utf8))
        }
        let hex = Array("0123456789abcdef".utf8)
        var digest: [UInt8] = []
        for byte in hash.finalize().prefix(16) {
            digest.append(hex[Int(byte >> 4)])
            digest.append(hex[Int(byte & 0xF)])
        }
        return String(decoding: digest, as: UTF8.self)
    }
}
