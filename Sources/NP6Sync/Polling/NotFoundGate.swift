import SyncStore

/// Tells a contact the API does not know from a wrong `api.baseURL`, which answers 404 for
/// every contact, and keeps the latter from marking every contact `not_found`.
///
/// Until some request got a 200, the `not_found` writes of 404s are held back. A 200 shows the
/// URL is right: the held writes are released and later 404s are written at once. When
/// ``threshold`` different contacts got a 404 and none a 200, the URL is wrong: the held writes are
/// dropped (the rows stay as they were) and the caller reports the misconfiguration. The 404s of
/// polls still in flight are dropped too; checking starts over when a contact already asked comes
/// up again (the daemon's next round). When a held contact comes up again before the threshold,
/// there are fewer contacts to ask than that: the held writes are released, as without the gate.
public actor NotFoundGate {
    /// Different contacts answered 404, with no 200, that make a wrong base URL.
    public static let threshold = 5

    public enum Verdict: Sendable {
        /// Submit these writes (the 404's own, and any released with it).
        case write([PollWrite])
        /// Held back: submit nothing for now.
        case hold
        /// Every contact asked got 404: the base URL or route is wrong. Nothing is written.
        case misconfigured(contactsAsked: Int)
    }

    /// Counts `rearm()`s: an answer to a request that left before the last one says nothing of
    /// the URL in force now (the request may have gone to the old `api.baseURL`).
    public private(set) var round = 0
    private var confirmed = false
    private var held: [(contactID: Int64, write: PollWrite)] = []
    /// After a misconfiguration: the contacts that got 404 since, until one comes up again.
    private var misconfiguredContacts: Set<Int64>?

    public init() {}

    /// A contact's poll got a 404; `write` is its `not_found` write. `round` is the gate's
    /// `round` when the request left; from an earlier one, the 404 is dropped (the contact's row
    /// stays as it was, so it is asked again).
    public func notFound(_ write: PollWrite, contactID: Int64, round: Int? = nil) -> Verdict {
        if let round, round != self.round { return .hold }
        if confirmed { return .write([write]) }
        if var asked = misconfiguredContacts {
            guard asked.contains(contactID) else {
                // A poll that was in flight when the misconfiguration was found.
                asked.insert(contactID)
                misconfiguredContacts = asked
                return .hold
            }
            misconfiguredContacts = nil
        } else if held.contains(where: { $0.contactID == contactID }) {
            let released = held.filter { $0.contactID != contactID }.map(\.write) + [write]
            held = []
            return .write(released)
        }
        held.append((contactID, write))
        guard held.count >= Self.threshold else { return .hold }
        let asked = held.count
        misconfiguredContacts = Set(held.map(\.contactID))
        held = []
        return .misconfigured(contactsAsked: asked)
    }

    /// A contact's request got a 200: the base URL is right. Returns the held writes of the other
    /// contacts, to submit (the contact's own is dropped: its 200 is newer).
    public func answered(contactID: Int64, round: Int? = nil) -> [PollWrite] {
        guard !confirmed, round.map({ $0 == self.round }) ?? true else { return [] }
        confirmed = true
        misconfiguredContacts = nil
        defer { held = [] }
        return held.filter { $0.contactID != contactID }.map(\.write)
    }

    /// The end of a pass: the writes still held (fewer than the threshold, no 200), to submit.
    public func finish() -> [PollWrite] {
        defer { held = [] }
        return held.map(\.write)
    }

    /// Checks again from scratch, as at start: after `api.baseURL` changed.
    public func rearm() {
        round += 1
        confirmed = false
        held = []
        misconfiguredContacts = nil
    }
}
