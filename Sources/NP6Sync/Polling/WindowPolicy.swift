/// The settings that shape request windows (`sync.*` in the configuration), in milliseconds.
public struct WindowPolicy: Sendable, Hashable {
    public var initialStartMs: Int64
    public var lookbackMs: Int64
    /// 0: no limit.
    public var maxWindowMs: Int64

    public init(initialStartMs: Int64 = 0, lookbackMs: Int64 = 900_000, maxWindowMs: Int64 = 0) {
        self.initialStartMs = initialStartMs
        self.lookbackMs = lookbackMs
        self.maxWindowMs = maxWindowMs
    }
}
