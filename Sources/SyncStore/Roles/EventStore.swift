/// Where np6-sync keeps contacts, events, watermarks and sink cursors: the one boundary between
/// the sync engine and a database, as the roles its callers play.
///
/// Each caller names the role it uses, small enough to read in one screen: the CLI's contact
/// commands a ``ContactStore``, the pollers a ``PollWriteStore``, the scheduler a
/// ``ScheduleStore``, `status` and the daemon's monitor a ``ReportStore``, a sink's delivery loop
/// a ``SinkCursorStore``, `sinks replay` and dead letters a ``SinkReplayStore``. A database
/// implements them all by adopting `EventStore`: `SQLiteEventStore` (module SQLiteStore) and
/// `PostgresEventStore` (module PostgresStore), and `SyncStoreTests` holds the contract suites
/// that every implementation must pass. A store that several daemons share (PostgreSQL) also
/// adopts ``LeaseStore``; one that a single process uses (SQLite) does not pretend to.
///
/// Each method keeps its invariant in one transaction. The central one, kept by
/// ``PollWriteStore/submit(_:for:)``: every event with a timestamp below a contact's watermark is
/// stored, because a write moves the watermark in the same transaction as the events that
/// justify it.
///
/// Times (`now`, `…Ms`) are milliseconds since the epoch, the unit of watermarks.
public protocol EventStore: ContactStore, PollWriteStore, ScheduleStore, ReportStore, SinkCursorStore,
    SinkReplayStore
{
    /// Where the store lives, for messages (a file path; never a password).
    var location: String { get }
}
