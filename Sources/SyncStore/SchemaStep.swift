/// One step of the public schema, numbered the same on every store: the one schema history
/// that SQLite and PostgreSQL both walk.
///
/// A store reports as its version the last step applied (`PRAGMA user_version` in SQLite,
/// `schema_migrations` in PostgreSQL), so equal versions mean the same tables and columns.
/// Each store implements every step with an exhaustive `switch`: a new case does not compile
/// until both stores say what it does, even if that is nothing (a step that only a store shared
/// by several daemons needs is a no-op on SQLite, and says why). A shipped step is never edited;
/// a change is a new case appended here, and a row in docs/DATABASE.md's version table.
public enum SchemaStep: Int, CaseIterable, Sendable, Comparable {
    case initial = 1
    case sinkDeliveryState
    case contactGenerations
    case databaseIdentity
    case contactLeases
    case sinkLeases
    case sharedRateLimitPause

    /// What the step adds, as `schema_migrations.description` and SQLite's migration names
    /// have recorded it since it shipped (so never reworded).
    public var summary: String {
        switch self {
        case .initial: "contacts, events, quarantine, sync runs, sink cursors"
        case .sinkDeliveryState: "sink delivery state, dead letters"
        case .contactGenerations: "contact generations, event conflicts, conflicting counts"
        case .databaseIdentity: "database identity, sink delivery generations"
        case .contactLeases: "contact leases, instances"
        case .sinkLeases: "sink leases"
        case .sharedRateLimitPause: "instances share the API's rate-limit pauses"
        }
    }

    /// The version a store that walked the whole history reports.
    public static var current: SchemaStep { allCases[allCases.count - 1] }

    public var version: Int { rawValue }

    public static func < (lhs: SchemaStep, rhs: SchemaStep) -> Bool { lhs.rawValue < rhs.rawValue }
}
