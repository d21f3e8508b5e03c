/// When contacts fall due: what the daemon's polling loop reads between polls (see
/// ``EventStore``). Claims with leases, for several daemons on one database, are
/// ``LeaseStore``'s.
public protocol ScheduleStore: Sendable {
    /// The enabled contacts due at `nowMs`, oldest due first, skipping `excluding` (polls in flight).
    func dueContacts(nowMs: Int64, limit: Int, excluding: Set<Int64>) async throws -> [StoredContact]

    /// When the next enabled contact falls due after `nowMs`; `nil` when none will.
    func nextDueMs(after nowMs: Int64) async throws -> Int64?
}
