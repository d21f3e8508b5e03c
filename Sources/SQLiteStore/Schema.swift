import Foundation
import GRDB
import SyncStore

/// The public schema, one step of the shared history (``SchemaStep``) at a time.
///
/// The schema is a public interface: operators query it with `sqlite3`. A shipped step is never
/// edited; a change is a new ``SchemaStep`` that both stores implement, and `PRAGMA user_version`
/// is the last step applied. Each step is a GRDB migration named `vN: summary`, the names the
/// shipped ones have always had.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for step in SchemaStep.allCases {
            migrator.registerMigration("v\(step.version): \(step.summary)") { db in
                try apply(step, db)
                try db.execute(sql: "PRAGMA user_version = \(step.version)")
            }
        }
        return migrator
    }

    /// The `user_version` this build writes: the last step it knows.
    static var knownVersion: Int { SchemaStep.current.version }

    private static func apply(_ step: SchemaStep, _ db: Database) throws {
        switch step {
        case .initial:
            try db.execute(
                sql: """
                    CREATE TABLE contacts (
                        id INTEGER PRIMARY KEY,
                        kind TEXT NOT NULL CHECK (kind IN ('id', 'unicity', 'hash')),
                        value TEXT NOT NULL CHECK (value <> ''),
                        enabled INTEGER NOT NULL DEFAULT 1,
                        watermark_ms INTEGER,
                        next_due_ms INTEGER NOT NULL DEFAULT 0,
                        last_attempt_ms INTEGER,
                        last_success_ms INTEGER,
                        last_status TEXT,
                        last_error TEXT,
                        consecutive_failures INTEGER NOT NULL DEFAULT 0,
                        added_ms INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
                        UNIQUE (kind, value)
                    );
                    CREATE INDEX contacts_due ON contacts (enabled, next_due_ms);

                    CREATE TABLE events (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        contact_id INTEGER,
                        type TEXT,
                        timestamp_ms INTEGER NOT NULL,
                        identity_type TEXT,
                        source_type TEXT,
                        payload TEXT NOT NULL,
                        received_ms INTEGER NOT NULL
                    );
                    CREATE INDEX events_contact_timestamp ON events (contact_id, timestamp_ms);
                    CREATE INDEX events_timestamp ON events (timestamp_ms);

                    CREATE TABLE quarantine (
                        id INTEGER PRIMARY KEY,
                        contact_id INTEGER,
                        reason TEXT NOT NULL,
                        raw BLOB NOT NULL,
                        received_ms INTEGER NOT NULL,
                        UNIQUE (contact_id, raw)
                    );

                    CREATE TABLE sync_runs (
                        id INTEGER PRIMARY KEY,
                        kind TEXT NOT NULL,
                        started_ms INTEGER NOT NULL,
                        finished_ms INTEGER NOT NULL,
                        contacts_polled INTEGER NOT NULL,
                        contacts_failed INTEGER NOT NULL,
                        requests INTEGER NOT NULL,
                        events_new INTEGER NOT NULL,
                        events_duplicate INTEGER NOT NULL,
                        events_quarantined INTEGER NOT NULL,
                        error TEXT
                    );

                    CREATE TABLE sink_cursors (
                        sink TEXT PRIMARY KEY,
                        delivered_seq INTEGER NOT NULL DEFAULT 0,
                        updated_ms INTEGER
                    );
                    """)
        case .sinkDeliveryState:
            // Each sink's delivery loop records how it is doing beside its cursor, so that
            // `np6-sync sinks status` and plain SQL see it while the daemon runs.
            try db.execute(
                sql: """
                    ALTER TABLE sink_cursors ADD COLUMN state TEXT NOT NULL DEFAULT 'running'
                        CHECK (state IN ('running', 'failing', 'stopped'));
                    ALTER TABLE sink_cursors ADD COLUMN last_error TEXT;
                    ALTER TABLE sink_cursors ADD COLUMN last_attempt_ms INTEGER;
                    ALTER TABLE sink_cursors ADD COLUMN last_success_ms INTEGER;
                    ALTER TABLE sink_cursors ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;

                    CREATE TABLE dead_letters (
                        id INTEGER PRIMARY KEY,
                        sink TEXT NOT NULL,
                        event_seq INTEGER NOT NULL,
                        event_id TEXT NOT NULL,
                        answer TEXT NOT NULL,
                        recorded_ms INTEGER NOT NULL,
                        resent_ms INTEGER,
                        UNIQUE (sink, event_seq)
                    );
                    """)
        case .contactGenerations:
            // `generation` is bumped by operators' commands; a poll's writes change the contact's
            // row only while it is the generation the poll started from (`PollTarget`).
            // `event_conflicts` keeps each other payload seen for a stored event id, once.
            try db.execute(
                sql: """
                    ALTER TABLE contacts ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

                    CREATE TABLE event_conflicts (
                        id INTEGER PRIMARY KEY,
                        event_id TEXT NOT NULL,
                        contact_id INTEGER,
                        payload TEXT NOT NULL,
                        received_ms INTEGER NOT NULL,
                        UNIQUE (event_id, payload)
                    );

                    ALTER TABLE sync_runs ADD COLUMN events_conflicting INTEGER NOT NULL DEFAULT 0;
                    """)
        case .databaseIdentity:
            // `meta` holds facts about the database itself; `database_id` is made here, once, and
            // never changes: webhook idempotency keys include it, so that a database created
            // again (same seqs, same sink names) never reuses the keys of the one before.
            // `delivery_generation` is bumped by `sinks replay`: a replayed batch gets a new key.
            try db.execute(
                sql: """
                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY,
                        value TEXT NOT NULL
                    );
                    ALTER TABLE sink_cursors ADD COLUMN delivery_generation INTEGER NOT NULL DEFAULT 1;
                    """)
            try db.execute(
                sql: "INSERT INTO meta (key, value) VALUES ('database_id', ?)",
                arguments: [UUID().uuidString.lowercased()])
        case .contactLeases, .sinkLeases, .sharedRateLimitPause:
            // Nothing: a SQLite file is written by one daemon at a time (it lives on one
            // machine), so it has no leases, no `instances` and no shared pause (RELIABILITY.md §12).
            break
        }
    }
}
