/// The events of one response and how to mangle them.
struct EventStreamPlan: Sendable {
    enum Order: Sendable, Equatable {
        case ascending
        case descending
        /// A random order drawn from this seed.
        case shuffled(seed: UInt64)
        /// Sorted for the first quarter (the events of the third quarter of the range), then
        /// the first half, then the last quarter: back in time after a quarter of the body.
        case backInTime
    }

    var contact: FakeContact
    /// A snapshot of the matching events in API order (copy-on-write: no copy is made).
    var records: ArraySlice<EventRecord>
    var order: Order
    var malformedElementRate: Double
    var duplicateElementRate: Double
    var malformedSeed: UInt64
    /// Close the connection after about half the body.
    var dropHalfway: Bool
    /// Hold the body after this many elements until the test releases it (`holdResponses(afterElements:)`).
    var holdAfterElements: Int? = nil
    /// Pause this long (ms) once, after about half the body.
    var stallHalfwayMs = 0
    /// Pause this long (ms) before each element, each sent on its own.
    var trickleMs = 0
    /// Pretty-print the array and its elements (``FakeNP6Knobs/prettyBodyRate``).
    var pretty = false
}
