/// Where a replay moved a sink's cursor.
public struct SinkRewind: Sendable, Hashable {
    /// The cursor before; `nil` when the sink had none yet.
    public var previousSeq: Int64?
    /// The cursor now: the sink delivers the events after it again.
    public var deliveredSeq: Int64

    public init(previousSeq: Int64?, deliveredSeq: Int64) {
        self.previousSeq = previousSeq
        self.deliveredSeq = deliveredSeq
    }
}
