/// How an instance holds leases on a database it shares with others (PostgreSQL): the store,
/// who it is, and how long a lease it takes lasts without a renewal. The contacts' leases (the
/// polling loop) and the sinks' (each sink's delivery loop) use the same terms, each at its own
/// cadence.
public struct InstanceLease: Sendable {
    /// The shared database.
    public var store: any LeaseStore
    public var instance: StoreInstance
    /// `database.leaseSeconds`, in ms.
    public var durationMs: Int64

    public init(store: any LeaseStore, instance: StoreInstance, durationMs: Int64) {
        self.store = store
        self.instance = instance
        self.durationMs = durationMs
    }
}
