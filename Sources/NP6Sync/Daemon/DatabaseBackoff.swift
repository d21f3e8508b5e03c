import SyncStore

/// How the polling loop backs off while the database refuses it, decided without side effects.
///
/// Two parts. After the database as a whole refused (a poll's writes or the read of due contacts:
/// locked past the busy timeout, full, I/O error, read-only), no new poll starts for a pause that
/// doubles from `pauseBase` to `pauseCap`, so that the API is not asked for what cannot be
/// stored; the pause ends early once a poll's writes commit again. And each contact whose writes
/// failed waits its own retry time, doubling from `contactBase` to `contactCap`: it is kept here,
/// in memory, because the database would refuse to store it in the contact's row.
struct DatabaseBackoff<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    var pauseBase: Duration = .seconds(1)
    var pauseCap: Duration = .seconds(30)
    var contactBase: Duration = .seconds(5)
    var contactCap: Duration = .seconds(300)

    /// No new poll starts, and due contacts are not read, before this.
    private(set) var pausedUntil: Instant?
    private var refusals = 0
    private var contacts: [Int64: (failures: Int, retryAt: Instant)] = [:]

    /// Whether new polls wait at `now`.
    func isPaused(at now: Instant) -> Bool {
        guard let pausedUntil else { return false }
        return now < pausedUntil
    }

    /// The database as a whole refused at `now` (anything but `other`, which may concern one
    /// contact's row only): pause every new poll.
    mutating func databaseRefused(_ code: DatabaseErrorCode, at now: Instant) {
        guard code != .other else { return }
        refusals += 1
        pausedUntil = now.advanced(by: Self.doubling(pauseBase, times: refusals, cap: pauseCap))
    }

    /// A poll's writes committed: the database writes again.
    mutating func databaseWrote() {
        refusals = 0
        pausedUntil = nil
    }

    /// `id`'s writes were refused at `now`: it is not polled again before its retry time.
    mutating func contactFailed(_ id: Int64, at now: Instant) {
        let failures = (contacts[id]?.failures ?? 0) + 1
        contacts[id] = (failures, now.advanced(by: Self.doubling(contactBase, times: failures, cap: contactCap)))
    }

    /// `id`'s writes committed: its backoff is over.
    mutating func contactSucceeded(_ id: Int64) {
        contacts[id] = nil
    }

    /// The contacts still waiting for their retry time at `now`, to leave out of the due ones.
    /// Forgets those whose time has come once many pile up (their failure count restarts).
    mutating func waitingContacts(at now: Instant) -> Set<Int64> {
        if contacts.count > 1024 { contacts = contacts.filter { now < $0.value.retryAt } }
        return Set(contacts.lazy.filter { now < $0.value.retryAt }.map { $0.key })
    }

    private static func doubling(_ base: Duration, times: Int, cap: Duration) -> Duration {
        min(cap, base * (1 << min(max(times - 1, 0), 30)))
    }
}
