#!/usr/bin/env python3
"""The NP6 stop-events sync written the straightforward way: requests + sqlite3.

This is the yardstick of benchmarks/run.sh: what a user would write instead of np6-sync, with the
same semantics (README "How syncing works"):

- one watermark per contact; a poll asks for [max(initialStart, watermark - lookback), now),
  sort=asc, times in integer milliseconds, the key in the X-Key header;
- every event is stored once (INSERT ... ON CONFLICT(id) DO NOTHING), its JSON kept as text;
- the watermark moves to the window's end in the same transaction as the window's events;
- the same schema shape as np6-sync: contacts and events, with the same event columns and indexes.

It fetches with a ThreadPoolExecutor (one requests.Session per thread, so connections are
reused; each body is read whole and parsed with r.json(), as most code does) and writes from the
main thread, one transaction per contact. The payload is json.dumps of the parsed event (compact,
non-ASCII kept): byte-identical to what the fake sends, which `compare` checks; with real data
(escapes such as \u00e9, floats) it would not be, which is one thing np6-sync does better.

    np6_reference_sync.py import   --db DB FILE               # KIND:VALUE lines
    np6_reference_sync.py sync     --db DB --base-url URL [--concurrency N] [--lookback-seconds 900]
    np6_reference_sync.py compare  --db DB --np6-db NP6_DB [--fake-url URL]

The key comes from the environment variable NP6_API_KEY. `compare` checks that this database and
an np6-sync database hold exactly the same events (id, contact, timestamp, extracted columns and
payload bytes), and, with --fake-url, that both hold exactly what the fake API serves; it exits 1
and prints the differences otherwise.
"""

import argparse
import concurrent.futures
import json
import os
import sqlite3
import sys
import threading
import time

import requests

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    watermark_ms INTEGER,
    UNIQUE (kind, value)
);
CREATE TABLE IF NOT EXISTS events (
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
CREATE INDEX IF NOT EXISTS events_contact_timestamp ON events (contact_id, timestamp_ms);
CREATE INDEX IF NOT EXISTS events_timestamp ON events (timestamp_ms);
"""

PATH = "/targets/events/responses/stop"


def now_ms():
    return int(time.time() * 1000)


def open_db(path):
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(SCHEMA)
    return db


def import_contacts(db, path):
    contacts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, _, value = line.partition(":")
            if kind not in ("id", "unicity", "hash") or not value:
                sys.exit(f"{path}: bad contact line: {line!r}")
            contacts.append((kind, value))
    with db:
        db.executemany("INSERT INTO contacts (kind, value) VALUES (?, ?) ON CONFLICT DO NOTHING", contacts)
    print(f"imported {len(contacts)} contacts")


_local = threading.local()


def session():
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
    return s


def fetch(base_url, key, kind, value, start, end, timeout):
    r = session().get(
        base_url.rstrip("/") + PATH,
        params={kind: value, "start": start, "end": end, "sort": "asc"},
        headers={"X-Key": key},
        timeout=timeout,
    )
    r.raise_for_status()
    events = r.json()
    if not isinstance(events, list):
        raise ValueError("the body is not a JSON array")
    return events


def store(db, contact_id, events, end):
    """One contact's window: its events and its new watermark, in one transaction."""
    received = now_ms()
    new = 0
    with db:
        for ev in events:
            identity, source = ev.get("identity"), ev.get("source")
            cur = db.execute(
                "INSERT INTO events (id, contact_id, type, timestamp_ms, identity_type, source_type, payload, received_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    ev["id"],
                    contact_id,
                    ev.get("type") if isinstance(ev.get("type"), str) else None,
                    ev["timestamp"],
                    identity.get("type") if isinstance(identity, dict) else None,
                    source.get("type") if isinstance(source, dict) else None,
                    json.dumps(ev, separators=(",", ":"), ensure_ascii=False),
                    received,
                ),
            )
            new += cur.rowcount
        db.execute("UPDATE contacts SET watermark_ms = ? WHERE id = ?", (end, contact_id))
    return new


def sync(db, base_url, key, concurrency, initial_start, lookback_ms, timeout):
    contacts = db.execute("SELECT id, kind, value, watermark_ms FROM contacts ORDER BY id").fetchall()
    polled = failed = new = received = 0

    def poll(contact):
        contact_id, kind, value, watermark = contact
        start = initial_start if watermark is None else max(initial_start, watermark - lookback_ms)
        end = now_ms()
        try:
            return contact_id, end, fetch(base_url, key, kind, value, start, end, timeout), None
        except Exception as error:  # noqa: BLE001 - one contact's failure must not stop the others
            return contact_id, end, None, error

    # map() hands the results over in order and lets go of each one once consumed.
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        for contact_id, end, events, error in pool.map(poll, contacts):
            polled += 1
            if error is not None:
                failed += 1
                print(f"poll failed: {error}", file=sys.stderr)
                continue
            received += len(events)
            new += store(db, contact_id, events, end)
    print(f"synced {polled} contacts: {new} new events, {received - new} duplicates, {failed} failed")
    return 1 if failed else 0


def event_set(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT e.id, c.kind || ':' || c.value, e.timestamp_ms, e.type, e.identity_type, e.source_type,"
        " CAST(e.payload AS BLOB) FROM events e LEFT JOIN contacts c ON c.id = e.contact_id"
    ).fetchall()
    db.close()
    return {row[0]: row[1:] for row in rows}, len(rows)


def fake_events(fake_url):
    """The fake's events, {id: (contact np6 id, timestamp)}; np6-sync and this script may name the
    contact by id, unicity or hash, so only the id and timestamp are compared with the fake."""
    r = requests.get(fake_url.rstrip("/") + "/_fake/events", timeout=600)
    r.raise_for_status()
    return {item["event"]["id"]: item["event"]["timestamp"] for item in r.json()}


def compare(ref_path, np6_path, fake_url):
    ours, our_rows = event_set(ref_path)
    theirs, their_rows = event_set(np6_path)
    problems = []
    if our_rows != len(ours) or their_rows != len(theirs):
        problems.append(f"duplicate ids stored: reference {our_rows - len(ours)}, np6-sync {their_rows - len(theirs)}")
    only_ours, only_theirs = ours.keys() - theirs.keys(), theirs.keys() - ours.keys()
    if only_ours:
        problems.append(f"{len(only_ours)} events only in the reference, e.g. {sorted(only_ours)[:3]}")
    if only_theirs:
        problems.append(f"{len(only_theirs)} events only in np6-sync, e.g. {sorted(only_theirs)[:3]}")
    fields = ("contact", "timestamp_ms", "type", "identity_type", "source_type", "payload")
    differing = {}
    for event_id in ours.keys() & theirs.keys():
        for name, a, b in zip(fields, ours[event_id], theirs[event_id]):
            if a != b:
                differing.setdefault(name, []).append(event_id)
    for name, ids in differing.items():
        problems.append(f"{len(ids)} events differ in {name}, e.g. {ids[0]}")
    if fake_url:
        served = fake_events(fake_url)
        missing = served.keys() - theirs.keys()
        extra = theirs.keys() - served.keys()
        if missing or extra:
            problems.append(f"np6-sync vs the fake: {len(missing)} served events missing, {len(extra)} unknown stored")
        wrong_ts = [i for i in served.keys() & theirs.keys() if served[i] != theirs[i][1]]
        if wrong_ts:
            problems.append(f"{len(wrong_ts)} events stored with another timestamp than served")
    if problems:
        print("event sets differ:\n  " + "\n  ".join(problems))
        return 1
    suffix = " = what the fake serves" if fake_url else ""
    print(f"same event set: {len(theirs)} events, ids, contacts, columns and payload bytes identical{suffix}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("import")
    p.add_argument("--db", required=True)
    p.add_argument("file")
    p = sub.add_parser("sync")
    p.add_argument("--db", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--initial-start", type=int, default=0)
    p.add_argument("--lookback-seconds", type=int, default=900)
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("compare")
    p.add_argument("--db", required=True)
    p.add_argument("--np6-db", required=True)
    p.add_argument("--fake-url")
    args = parser.parse_args()

    if args.command == "import":
        import_contacts(open_db(args.db), args.file)
        return 0
    if args.command == "sync":
        key = os.environ.get("NP6_API_KEY")
        if not key:
            sys.exit("NP6_API_KEY is not set")
        return sync(
            open_db(args.db), args.base_url, key, max(1, args.concurrency),
            args.initial_start, args.lookback_seconds * 1000, args.timeout,
        )
    return compare(args.db, args.np6_db, args.fake_url)


if __name__ == "__main__":
    sys.exit(main())
