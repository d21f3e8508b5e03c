import Synchronization

/// How many stop-events requests for each contact are in flight at once, from the moment the
/// fake has decided the answer until the last bytes of its body are sent (or the request ends
/// another way). Several daemons that share the contacts by lease must never make two at once
/// for one contact; `GET /_fake/stats` reports what this saw, and the server logs a warning.
///
/// A contact is counted whatever key the request names it by (id, unicity or hash) and whatever
/// the answer (a 429 too); a request that names no known contact is not counted.
public final class ContactConcurrency: Sendable {
    /// What the requests so far showed.
    public struct Summary: Sendable, Equatable {
        /// The most requests for one contact ever in flight at once (0 before any request).
        public var maxPerContact: Int
        /// The contacts (indices into ``FakeNP6State/contacts``) that ever had two or more
        /// requests in flight at once, in the order that happened, at most ``listedOverlaps``.
        public var overlapped: [Int]
        /// How many contacts ever had two or more in flight at once.
        public var overlappedCount: Int
    }

    /// How many overlapped contacts a summary names: enough to look into, small enough for stats.
    public static let listedOverlaps = 10

    private struct State {
        var inFlight: [Int: Int] = [:]
        var maxPerContact = 0
        var overlapped: [Int] = []
        var overlappedCount = 0
        var everOverlapped: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts a request for the contact at `index` as in flight until the returned request ends.
    public func begin(contact index: Int) -> InFlightRequest {
        let count = state.withLock { state in
            let count = state.inFlight[index, default: 0] + 1
            state.inFlight[index] = count
            state.maxPerContact = max(state.maxPerContact, count)
            if count >= 2, state.everOverlapped.insert(index).inserted {
                state.overlappedCount += 1
                if state.overlapped.count < Self.listedOverlaps { state.overlapped.append(index) }
            }
            return count
        }
        return InFlightRequest(concurrent: count) { [self] in end(contact: index) }
    }

    private func end(contact index: Int) {
        state.withLock { state in
            let count = state.inFlight[index, default: 1] - 1
            state.inFlight[index] = count > 0 ? count : nil
        }
    }

    /// What the requests so far showed.
    public var summary: Summary {
        state.withLock {
            Summary(maxPerContact: $0.maxPerContact, overlapped: $0.overlapped, overlappedCount: $0.overlappedCount)
        }
    }

    /// One request in flight: ``end()`` ends it, and so does its release, so a request whose body
    /// is never written (the client went away) does not stay counted.
    public final class InFlightRequest: Sendable {
        /// How many requests for its contact were in flight when it began, itself included.
        public let concurrent: Int
        private let ended = Atomic(false)
        private let onEnd: @Sendable () -> Void

        fileprivate init(concurrent: Int, onEnd: @escaping @Sendable () -> Void) {
            self.concurrent = concurrent
            self.onEnd = onEnd
        }

        /// Ends the request; later calls do nothing.
        public func end() {
            if !ended.exchange(true, ordering: .acquiringAndReleasing) { onEnd() }
        }

        deinit { end() }
    }
}
