/// What ``SinkSupervisor/drainOnce()`` did, sink by sink.
public struct SinkDrainReport: Sendable, Hashable {
    /// One sink's drain.
    public struct Result: Sendable, Hashable {
        public var sink: String
        /// Events the sink acknowledged.
        public var delivered = 0
        /// Events the receiver rejected, recorded in `dead_letters`.
        public var deadLettered = 0
        /// Why the sink did not catch up; `nil` when it did.
        public var error: String?
        /// Whether the receiver rejected the delivery for good (the sink is recorded `stopped`).
        public var stopped = false
        /// Whether the sink could not be built from its configuration (e.g. an unreadable secret).
        public var isConfigurationError = false

        public init(sink: String) {
            self.sink = sink
        }
    }

    /// In configuration order.
    public var results: [Result]

    /// The sinks that did not catch up.
    public var failures: [Result] { results.filter { $0.error != nil } }
}
