/// The contact a poll writes to, as the poll found it: its row's `id` and `generation`, and the
/// lease it was claimed with.
///
/// Operators' commands (`contacts reset`, `set-watermark`, `remove`, `recheck`) bump the
/// generation. A poll write whose generation is no longer the row's still stores its events and
/// quarantined elements, but leaves the row (watermark, status, schedule) as the command set it:
/// the operator wins over a poll that was in flight.
///
/// Several daemons on one database claim contacts with leases
/// (``LeaseStore/claimDueContacts(nowMs:limit:excluding:for:leaseUntilMs:)``); each claim gives
/// the contact a new lease token. A write whose `leaseToken` is no longer the row's (another
/// instance took the contact over after this one's lease expired) is fenced the same way: its
/// events stay stored, the row is left to the new holder. `nil`: the poll holds no lease (a
/// store that needs none, or `sync`), and only the generation fences.
public struct PollTarget: Sendable, Hashable {
    public var id: Int64
    public var generation: Int64
    public var leaseToken: Int64?

    public init(id: Int64, generation: Int64, leaseToken: Int64? = nil) {
        self.id = id
        self.generation = generation
        self.leaseToken = leaseToken
    }
}
