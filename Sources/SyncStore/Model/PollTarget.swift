/// The contact a poll writes to, as the poll found it: its row's `id` and `generation`.
///
/// Operators' commands (`contacts reset`, `set-watermark`, `remove`, `recheck`) bump the
/// generation. A poll write whose generation is no longer the row's still stores its events and
/// quarantined elements, but leaves the row (watermark, status, schedule) as the command set it:
/// the operator wins over a poll that was in flight.
public struct PollTarget: Sendable, Hashable {
    public var id: Int64
    public var generation: Int64

    public init(id: Int64, generation: Int64) {
        self.id = id
        self.generation = generation
    }
}
