#!/usr/bin/env python3
"""Driver of benchmarks/run.sh: runs S1-S4 for np6-sync and the Python reference against the fake
NP6 API (a separate process), measures the limits (the fake's ceiling with wrk, the sqlite3 shell's
raw insert rate), and prints one table of medians and the ratios of the targets in RESULTS.md.

    bench.py --binary PATH [--quick] [--repeats N] [--json OUT] [--keep]

S2pg (`--only s2,s2pg`) is S2's backfill into PostgreSQL beside SQLite, and S5 (`--only s5`) is
1, 2 and 3 daemons on one PostgreSQL database against a rate-limited fake (the share of the
cluster-wide limit they use, the 429s), then a failover (one of three SIGKILLed: how long until
the contacts it held are polled again). Both need a server that NP6_BENCH_POSTGRES_URL names
(postgresql://USER@HOST:PORT/DB, a role that may create databases; else NP6_TEST_POSTGRES_URL,
as `scripts/test-postgres env` prints it), its password in NP6_BENCH_POSTGRES_PASSWORD_FILE
(else NP6_TEST_POSTGRES_PASSWORD_FILE), and `psql`.

Every figure is taken per run; a ratio between two figures of the same scenario is computed within
each repeat (same minute, same machine load) and its median is quoted. --quick runs tiny sizes once
and checks correctness only (CI).
"""

import argparse
import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "reference", "np6_reference_sync.py")
KEY = "bench-key-not-secret"
TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


# ----------------------------------------------------------------------------------------------
# Processes and measurements


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("JOURNAL_STREAM", "STATE_DIRECTORY", "CREDENTIALS_DIRECTORY", "NP6_SYNC_CONFIG",
                        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env.update(extra)
    return env


def proc_cpu(pid):
    """user+sys CPU seconds of a live process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Fake:
    """`np6-sync fake-api` as a separate process on a free port."""

    def __init__(self, binary, workdir, name, contacts, events, seed, extra=()):
        self.log = open(os.path.join(workdir, f"fake-{name}.log"), "w")
        # NP6_FAKE_BINARY serves the fake from another build, so that two np6-sync builds compared
        # side by side meet the same server.
        args = [os.environ.get("NP6_FAKE_BINARY") or binary, "fake-api", "--port", "0", "--contacts", str(contacts), "--seed", str(seed),
                "--events-per-contact", str(events), *extra]
        started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=clean_env(NP6_FAKE_API_KEY=KEY))
        line = self.proc.stdout.readline()
        m = re.search(r"(http://\S+)", line)
        if not m:
            self.proc.kill()
            raise SystemExit(f"fake-api {name} did not start: {line!r}; see {self.log.name}")
        self.url = m.group(1)
        self.startup_s = time.monotonic() - started
        self.events = events
        self.contacts = contacts

    def get(self, path, timeout=600):
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return json.loads(r.read())

    def requests_served(self):
        return self.get("/_fake/stats")["total"]

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def rss_mib(self):
        return proc_hwm_kib(self.proc.pid) / 1024

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def timed(cmd, env=None, fake=None, check=True):
    """Runs cmd under GNU time: wall (monotonic), user+sys CPU, max RSS; and the fake's CPU meanwhile."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        fake_cpu0 = fake.cpu() if fake else 0.0
        started = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", tf.name] + cmd,
                           capture_output=True, text=True, env=env or clean_env())
        wall = time.monotonic() - started
        fake_cpu = (fake.cpu() - fake_cpu0) if fake else None
        tail = tf.read().strip().splitlines()
    if check and p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    user, system, rss = tail[-1].split()
    return {"wall": wall, "cpu": float(user) + float(system), "rss_mib": int(rss) / 1024,
            "fake_cpu": fake_cpu, "stdout": p.stdout, "stderr": p.stderr, "rc": p.returncode}


def run_quiet(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env or clean_env())
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p.stdout


# ----------------------------------------------------------------------------------------------
# np6-sync and the reference


class Bench:
    def __init__(self, args):
        self.binary = os.path.abspath(args.binary)
        self.quick = args.quick
        self.repeats = 1 if args.quick else args.repeats
        self.work = tempfile.mkdtemp(prefix="np6-bench.", dir=args.workdir)
        self.results = {}  # (scenario, row) -> {metric: [values]}
        self.ratios = {}   # name -> [values]
        self.info = {}
        self.checks = []

    def path(self, *names):
        return os.path.join(self.work, *names)

    def add(self, scenario, row, **metrics):
        slot = self.results.setdefault((scenario, row), {})
        for k, v in metrics.items():
            if v is not None:
                slot.setdefault(k, []).append(v)

    def ratio(self, name, value):
        self.ratios.setdefault(name, []).append(value)

    def check(self, ok, what):
        self.checks.append((ok, what))
        print(("  ok   " if ok else "  FAIL ") + what, flush=True)
        if not ok and self.quick:
            raise SystemExit(f"correctness check failed: {what}")

    def config(self, name, fake_url, db, concurrency, interval=300, extra=None):
        cfg = {
            "api": {"baseURL": fake_url, "requestsPerSecond": 10000, "maxConcurrentRequests": concurrency,
                    "timeoutSeconds": 120},
            "database": {"path": db},
            "schedule": {"intervalSeconds": interval, "jitterSeconds": 0},
            "logging": {"level": "info"},
        }
        cfg.update(extra or {})
        path = self.path(f"{name}.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def contacts_file(self, name, fake, limit=None):
        contacts = fake.get("/_fake/contacts")[:limit]
        kinds = ("id", "unicity", "hash")
        path = self.path(f"{name}.contacts")
        with open(path, "w", encoding="utf-8") as f:
            for i, c in enumerate(contacts):
                kind = kinds[i % 3]  # every way of naming a contact, percent-encoding included
                f.write(f"{kind}:{c[kind]}\n")
        return path, len(contacts)

    def np_import(self, config, contacts):
        return timed([self.binary, "contacts", "import", contacts, "--config", config])

    def np_sync(self, config, fake):
        r = timed([self.binary, "sync", "--config", config], env=clean_env(NP6_API_KEY=KEY), fake=fake)
        m = re.search(r"synced (\d+) contacts in (\d+) requests: (\d+) new events, (\d+) duplicates, "
                      r"(\d+) quarantined, (\d+) not found, (\d+) failed", r["stdout"])
        if not m:
            raise SystemExit(f"unexpected sync output: {r['stdout']}\n{r['stderr']}")
        r["contacts"], r["requests"], r["new"], r["dup"], _, r["not_found"], r["failed"] = map(int, m.groups())
        return r

    def ref_import(self, db, contacts):
        run_quiet([sys.executable, REFERENCE, "import", "--db", db, contacts])

    def ref_sync(self, db, fake, concurrency):
        r = timed([sys.executable, REFERENCE, "sync", "--db", db, "--base-url", fake.url,
                   "--concurrency", str(concurrency)], env=clean_env(NP6_API_KEY=KEY), fake=fake)
        m = re.search(r"synced (\d+) contacts: (\d+) new events, (\d+) duplicates, (\d+) failed", r["stdout"])
        r["contacts"], r["new"], r["dup"], r["failed"] = map(int, m.groups())
        r["requests"] = r["contacts"]
        return r

    def compare(self, ref_db, np_db, fake):
        p = subprocess.run([sys.executable, REFERENCE, "compare", "--db", ref_db, "--np6-db", np_db,
                            "--fake-url", fake.url], capture_output=True, text=True, env=clean_env())
        self.check(p.returncode == 0, f"reference = np6-sync = fake: {(p.stdout + p.stderr).strip()}")

    def wrk(self, url, concurrency, seconds):
        if not shutil.which("wrk"):
            if self.quick:
                print("  (wrk not installed: fake ceiling skipped)")
                return None
            raise SystemExit("wrk is needed for the fake's ceiling: apt-get install -y wrk")
        p = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "-H", f"X-Key: {KEY}", url],
                           capture_output=True, text=True)
        m = re.search(r"Requests/sec:\s*([\d.]+)", p.stdout)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
        if not m or bad:
            raise SystemExit(f"wrk failed: {p.stdout}{p.stderr}")
        return float(m.group(1))

    # ------------------------------------------------------------------------------------------

    def s1(self):
        n = 60 if self.quick else 2000
        print(f"\n== S1 steady state: {n} contacts already synced, one pass that finds nothing", flush=True)
        fake = Fake(self.binary, self.work, "s1", n, "0-3", 11)
        try:
            contacts, _ = self.contacts_file("s1", fake)
            np_db, ref_db = self.path("s1-np.sqlite"), self.path("s1-ref.sqlite")
            cfg = {c: self.config(f"s1-c{c}", fake.url, np_db, c) for c in (1, 16)}
            self.np_import(cfg[1], contacts)
            self.ref_import(ref_db, contacts)
            first = self.np_sync(cfg[16], fake)
            self.check(first["failed"] == 0 and first["contacts"] == n, f"first np6-sync pass: {first['stdout'].strip()}")
            ref_first = self.ref_sync(ref_db, fake, 16)
            self.check(ref_first["failed"] == 0, f"first reference pass: {ref_first['stdout'].strip()}")
            self.compare(ref_db, np_db, fake)
            empty_db = self.path("s1-empty.sqlite")
            empty_cfg = self.config("s1-empty", fake.url, empty_db, 16)
            # A contact's steady-state URL: its last 15 minutes, an empty body, as the passes ask.
            c0 = fake.get("/_fake/contacts")[0]["id"]
            now = int(time.time() * 1000)
            url = f"{fake.url}/targets/events/responses/stop?id={c0}&start={now - 900_000}&end={now}&sort=asc"
            for rep in range(self.repeats):
                print(f"  repeat {rep + 1}/{self.repeats}", flush=True)
                ceiling = {}
                for c in (1, 16):
                    for impl in ("np6-sync", "reference"):
                        r = self.np_sync(cfg[c], fake) if impl == "np6-sync" else self.ref_sync(ref_db, fake, c)
                        self.check(r["new"] == 0 and r["failed"] == 0 and r["contacts"] == n,
                                   f"S1 c{c} {impl}: {r['contacts']} polls, {r['new']} new, {r['failed']} failed")
                        self.add(f"S1 c{c}", impl, wall=r["wall"], cpu=r["cpu"], cpu_us_poll=r["cpu"] / n * 1e6,
                                 rss=r["rss_mib"], fake_cpu=r["fake_cpu"])
                        ceiling[(c, impl)] = r
                    rps = self.wrk(url, c, 1 if self.quick else 4)
                    if rps:
                        self.add(f"S1 c{c}", "fake ceiling (wrk)", wall=n / rps, rps=rps)
                        ceiling[(c, "wrk")] = n / rps
                for c in (1, 16):
                    np_, ref = ceiling[(c, "np6-sync")], ceiling[(c, "reference")]
                    self.ratio(f"S1 c{c} CPU/poll np6-sync / reference", np_["cpu"] / ref["cpu"])
                    self.ratio(f"S1 c{c} wall np6-sync / reference", np_["wall"] / ref["wall"])
                    if (c, "wrk") in ceiling:
                        self.ratio(f"S1 c{c} wall np6-sync / fake ceiling", np_["wall"] / ceiling[(c, "wrk")])
                # Fixed cost of a pass (process start, database open): a pass over no contact.
                for impl in ("np6-sync", "reference"):
                    if impl == "np6-sync":
                        r = self.np_sync(empty_cfg, fake)
                    else:
                        r = timed([sys.executable, REFERENCE, "sync", "--db", self.path("s1-ref-empty.sqlite"),
                                   "--base-url", fake.url], env=clean_env(NP6_API_KEY=KEY))
                    self.add("S1 fixed cost (pass over 0 contacts)", impl, wall=r["wall"], cpu=r["cpu"], rss=r["rss_mib"])
            self.info["s1_fake_startup_s"] = fake.startup_s
            self.info["s1_contacts"] = n
        finally:
            fake.stop()

    def s2(self):
        contacts, per = (20, 50) if self.quick else (500, 200)
        total = contacts * per
        print(f"\n== S2 backfill: {contacts} contacts x {per} events = {total} events, empty database", flush=True)
        fake = Fake(self.binary, self.work, "s2", contacts, per, 12)
        try:
            cfile, _ = self.contacts_file("s2", fake)
            csv_path = self.path("s2-rows.csv")
            schema = None
            for rep in range(self.repeats):
                print(f"  repeat {rep + 1}/{self.repeats}", flush=True)
                runs = {}
                for c in (1, 16):
                    np_db, ref_db = self.path(f"s2-np-c{c}-{rep}.sqlite"), self.path(f"s2-ref-c{c}-{rep}.sqlite")
                    cfg = self.config(f"s2-c{c}", fake.url, np_db, c)
                    self.np_import(cfg, cfile)
                    self.ref_import(ref_db, cfile)
                    for impl in ("np6-sync", "reference"):
                        r = self.np_sync(cfg, fake) if impl == "np6-sync" else self.ref_sync(ref_db, fake, c)
                        self.check(r["new"] == total and r["failed"] == 0, f"S2 c{c} {impl}: {r['new']} new events of {total}")
                        self.add(f"S2 c{c}", impl, wall=r["wall"], cpu=r["cpu"], events_s=total / r["wall"],
                                 cpu_us_event=r["cpu"] / total * 1e6, rss=r["rss_mib"], fake_cpu=r["fake_cpu"])
                        runs[(c, impl)] = r
                    if rep == 0:
                        self.compare(ref_db, np_db, fake)
                    if schema is None:
                        schema, avg_payload = self.export_rows(np_db, csv_path)
                        self.info["s2_avg_payload_bytes"] = avg_payload
                    os.remove(ref_db)
                    os.remove(np_db)
                raw, raw2 = self.raw_sqlite(schema, csv_path, total, rep)
                self.add("S2 limit", "sqlite3 .import, one transaction", wall=raw["wall"], cpu=raw["cpu"],
                         events_s=total / raw["wall"], cpu_us_event=raw["cpu"] / total * 1e6, rss=raw["rss_mib"])
                self.add("S2 limit", "sqlite3 INSERT…SELECT, one transaction (information)", wall=raw2["wall"],
                         cpu=raw2["cpu"], events_s=total / raw2["wall"], cpu_us_event=raw2["cpu"] / total * 1e6,
                         rss=raw2["rss_mib"])
                for c in (1, 16):
                    np_, ref = runs[(c, "np6-sync")], runs[(c, "reference")]
                    self.ratio(f"S2 c{c} events/s np6-sync / raw SQLite", raw["wall"] / np_["wall"])
                    self.ratio(f"S2 c{c} events/s np6-sync / reference", ref["wall"] / np_["wall"])
        finally:
            fake.stop()

    def postgres(self, scenario):
        """The server S2pg and S5 use: its URL without a database, the password file, and psql(database, sql)."""
        url = os.environ.get("NP6_BENCH_POSTGRES_URL") or os.environ.get("NP6_TEST_POSTGRES_URL")
        password_file = (os.environ.get("NP6_BENCH_POSTGRES_PASSWORD_FILE")
                         or os.environ.get("NP6_TEST_POSTGRES_PASSWORD_FILE"))
        if not url:
            raise SystemExit(f"{scenario}: set NP6_BENCH_POSTGRES_URL (or NP6_TEST_POSTGRES_URL; scripts/test-postgres env)")
        server = url.split("?")[0].rsplit("/", 1)[0]
        password = open(password_file).read().strip() if password_file else None
        env = clean_env(PGPASSWORD=password) if password else clean_env()

        def psql(database, sql):
            return run_quiet(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", f"{server}/{database}", "-c", sql], env=env)
        return server, password_file, psql

    def drop_database(self, psql, database):
        for attempt in range(10):  # an autovacuum worker may still be on it
            try:
                psql("postgres", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                return
            except SystemExit:
                time.sleep(1)

    def s2pg(self):
        """S2's backfill into PostgreSQL, each run into a new database, beside S2's SQLite figures."""
        server, password_file, psql = self.postgres("s2pg")

        contacts, per = (20, 50) if self.quick else (500, 200)
        total = contacts * per
        print(f"\n== S2pg backfill into PostgreSQL: {contacts} contacts x {per} events = {total} events, "
              f"empty database ({psql('postgres', 'SHOW server_version').strip()})", flush=True)
        fake = Fake(self.binary, self.work, "s2pg", contacts, per, 12)
        try:
            cfile, _ = self.contacts_file("s2pg", fake)
            expected = {e["event"]["id"] for e in fake.get("/_fake/events")}
            for rep in range(self.repeats):
                print(f"  repeat {rep + 1}/{self.repeats}", flush=True)
                for c in (1, 16):
                    database = f"np6_bench_{os.getpid()}_{rep}_{c}"
                    psql("postgres", f"CREATE DATABASE {database}")
                    try:
                        cfg = self.config(f"s2pg-c{c}", fake.url, None, c)
                        with open(cfg) as f:
                            document = json.load(f)
                        document["database"] = {"url": f"{server}/{database}?sslmode=disable"}
                        if password_file:
                            document["database"]["passwordFile"] = os.path.abspath(password_file)
                        with open(cfg, "w") as f:
                            json.dump(document, f)
                        self.np_import(cfg, cfile)
                        r = timed([self.binary, "sync", "--config", cfg],
                                  env=clean_env(NP6_API_KEY=KEY), fake=fake)
                        m = re.search(r"(\d+) new events, (\d+) duplicates, \d+ quarantined, \d+ not found, (\d+) failed",
                                      r["stdout"])
                        new, failed = (int(m.group(1)), int(m.group(3))) if m else (-1, -1)
                        self.check(new == total and failed == 0, f"S2pg c{c}: {new} new events of {total}")
                        stored = psql(database, "SELECT id FROM events").split()
                        self.check(len(stored) == total and set(stored) == expected,
                                   f"S2pg c{c}: PostgreSQL holds the fake's {total} events, each once")
                        self.add(f"S2 c{c}", "np6-sync, PostgreSQL", wall=r["wall"], cpu=r["cpu"],
                                 events_s=total / r["wall"], cpu_us_event=r["cpu"] / total * 1e6,
                                 rss=r["rss_mib"], fake_cpu=r["fake_cpu"])
                        sqlite_wall = self.results.get((f"S2 c{c}", "np6-sync"), {}).get("wall")
                        if sqlite_wall and len(sqlite_wall) > rep:
                            self.ratio(f"S2 c{c} events/s PostgreSQL / SQLite", sqlite_wall[rep] / r["wall"])
                    finally:
                        self.drop_database(psql, database)
        finally:
            fake.stop()

    def s5(self):
        """Several daemons on one PostgreSQL database: the cluster-wide rate limit, then a failover."""
        server, password_file, psql = self.postgres("s5")
        interval, lease = 10, 5
        limits = (20,) if self.quick else (20, 200)
        seconds, warmup = (8, 4) if self.quick else (30, 10)

        def cluster_config(name, fake, database, rate):
            cfg = self.config(name, fake.url, None, 16, interval=interval)
            with open(cfg) as f:
                document = json.load(f)
            document["api"].update({"requestsPerSecond": rate, "maxAttempts": 5})
            document["database"] = {"url": f"{server}/{database}?sslmode=disable", "leaseSeconds": lease}
            if password_file:
                document["database"]["passwordFile"] = os.path.abspath(password_file)
            document["logging"] = {"level": "warning"}
            with open(cfg, "w") as f:
                json.dump(document, f)
            return cfg

        def start(cfg, count, name):
            return [subprocess.Popen([self.binary, "run", "--config", cfg], env=clean_env(NP6_API_KEY=KEY),
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.path(f"{name}-{i}.log"), "w"))
                    for i in range(count)]

        def stop(daemons):
            for d in daemons:
                if d.poll() is None:
                    d.send_signal(signal.SIGTERM)
            return [d.wait(30) for d in daemons]

        def by_status(fake):
            counts = fake.get("/_fake/stats")["byStatus"]
            return {int(k): v for k, v in counts.items() if str(k).isdigit()}

        print(f"\n== S5 several daemons, one PostgreSQL database: fixed-window limits {limits} requests/s, "
              f"api.requestsPerSecond = the limit (the cluster's), {seconds - warmup} s measured after {warmup} s",
              flush=True)
        for limit in limits:
            contacts = 2 * limit * interval  # twice as many polls due as the limit allows
            fake = Fake(self.binary, self.work, f"s5-{limit}", contacts, "0-2", 5,
                        extra=("--rate-limit", str(limit), "--rate-limit-kind", "fixed-window"))
            try:
                cfile, _ = self.contacts_file(f"s5-{limit}", fake)
                for rep in range(self.repeats):
                    for count in (1, 2, 3):
                        database = f"np6_bench_{os.getpid()}_s5_{limit}_{count}_{rep}"
                        psql("postgres", f"CREATE DATABASE {database}")
                        try:
                            cfg = cluster_config(f"s5-{limit}-{count}", fake, database, limit)
                            self.np_import(cfg, cfile)
                            daemons = start(cfg, count, f"s5-{limit}-{count}")
                            time.sleep(warmup)
                            before, t0 = by_status(fake), time.monotonic()
                            time.sleep(seconds - warmup)
                            after, elapsed = by_status(fake), time.monotonic() - t0
                            codes = stop(daemons)
                            self.check(codes == [0] * count, f"S5 {limit}/s x{count}: every daemon exits 0 on SIGTERM ({codes})")
                            delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                            total = sum(delta.values())
                            limited = delta.get(429, 0)
                            used = (total - limited) / elapsed / limit
                            print(f"  {limit}/s x{count}: {used:.1%} of the limit, {limited} of {total} answers 429",
                                  flush=True)
                            self.add(f"S5 {limit}/s", f"{count} instance(s)", used=used,
                                     r429=limited / max(1, total))
                        finally:
                            self.drop_database(psql, database)
            finally:
                fake.stop()

        # Failover: three daemons, one SIGKILLed; the contacts it held are polled again by the others.
        print(f"\n== S5 failover: 3 daemons, database.leaseSeconds {lease}, schedule.intervalSeconds {interval}",
              flush=True)
        fake = Fake(self.binary, self.work, "s5-failover", 300, "0-2", 6, extra=("--latency-ms", "200"))
        try:
            cfile, _ = self.contacts_file("s5-failover", fake)
            for rep in range(self.repeats):
                database = f"np6_bench_{os.getpid()}_s5_failover_{rep}"
                psql("postgres", f"CREATE DATABASE {database}")
                try:
                    cfg = cluster_config("s5-failover", fake, database, 1000)
                    self.np_import(cfg, cfile)
                    daemons = start(cfg, 3, "s5-failover")
                    held = []
                    deadline = time.monotonic() + 30
                    while not held and time.monotonic() < deadline:
                        time.sleep(0.2)
                        held = psql(database, f"SELECT c.id FROM contacts c JOIN instances i ON i.id = c.lease_owner "
                                              f"WHERE i.pid = {daemons[0].pid} AND c.lease_until_ms > "
                                              f"floor(extract(epoch FROM clock_timestamp()) * 1000)").split()
                    daemons[0].kill()
                    killed_ms = int(time.time() * 1000)
                    daemons[0].wait()
                    ids = ",".join(held) or "0"
                    failover = None
                    while time.monotonic() < deadline + 60:
                        left = int(psql(database, f"SELECT count(*) FROM contacts WHERE id IN ({ids}) AND "
                                                  f"coalesce(last_attempt_ms, 0) <= {killed_ms}").strip())
                        if left == 0:
                            failover = (int(time.time() * 1000) - killed_ms) / 1000
                            break
                        time.sleep(0.1)
                    codes = stop(daemons[1:])
                    self.check(bool(held), f"S5 failover: the killed daemon held {len(held)} contacts")
                    self.check(failover is not None and failover <= lease + interval,
                               f"S5 failover: its contacts polled again after {failover} s "
                               f"(at most leaseSeconds + interval = {lease + interval} s)")
                    self.check(codes == [0, 0], f"S5 failover: the survivors exit 0 on SIGTERM ({codes})")
                    if failover is not None:
                        self.add("S5 failover", "3 instances, 1 killed", failover=failover)
                finally:
                    self.drop_database(psql, database)
        finally:
            fake.stop()

    def export_rows(self, np_db, csv_path):
        db = sqlite3.connect(np_db)
        schema = [row[0] for row in db.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name <> 'sqlite_sequence' ORDER BY rowid")]
        avg = db.execute("SELECT avg(length(CAST(payload AS BLOB))) FROM events").fetchone()[0]
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            for row in db.execute("SELECT seq, id, contact_id, type, timestamp_ms, identity_type, source_type, "
                                  "payload, received_ms FROM events ORDER BY seq"):
                w.writerow(row)
        db.close()
        return schema, avg

    def raw_sqlite(self, schema, csv_path, total, rep):
        """The sqlite3 shell importing the same rows into the same schema (WAL, synchronous=NORMAL as
        np6-sync sets them), in one transaction (.import wraps the whole file in one)."""
        db = self.path(f"s2-raw-{rep}.sqlite")
        with open(self.path("raw-schema.sql"), "w") as f:
            f.write("PRAGMA journal_mode=WAL;\n" + ";\n".join(schema) + ";\n")
        run_quiet(["sqlite3", db, ".read " + self.path("raw-schema.sql")])
        r = timed(["sqlite3", "-cmd", "PRAGMA synchronous=NORMAL", db, f".import --csv {csv_path} events"])
        count = int(run_quiet(["sqlite3", db, "SELECT count(*) FROM events"]).strip())
        self.check(count == total and not r["stderr"].strip(), f"raw sqlite3 .import: {count} rows {r['stderr'].strip()}")
        os.remove(db)
        # Without the CSV parsing: INSERT ... SELECT of the same rows from another database file.
        src = self.path("s2-src.sqlite")
        if not os.path.exists(src):
            run_quiet(["sqlite3", src, "CREATE TABLE src (seq INTEGER, id TEXT, contact_id INTEGER, type TEXT, "
                       "timestamp_ms INTEGER, identity_type TEXT, source_type TEXT, payload TEXT, received_ms INTEGER)",
                       f".import --csv {csv_path} src"])
        run_quiet(["sqlite3", db, ".read " + self.path("raw-schema.sql")])
        r2 = timed(["sqlite3", "-cmd", "PRAGMA synchronous=NORMAL", db,
                    f"ATTACH '{src}' AS s; BEGIN; INSERT INTO events SELECT * FROM s.src ORDER BY seq; COMMIT;"])
        count = int(run_quiet(["sqlite3", db, "SELECT count(*) FROM events"]).strip())
        self.check(count == total, f"raw sqlite3 INSERT ... SELECT: {count} rows")
        os.remove(db)
        return r, r2

    def s4(self):
        sizes = (5000,) if self.quick else (100_000, 1_000_000)
        for n in sizes:
            label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
            print(f"\n== S4 one huge body: one contact with {n} events in one window", flush=True)
            fake = Fake(self.binary, self.work, f"s4-{label}", 1, n, 14)
            self.info[f"s4_{label}_fake_startup_s"] = fake.startup_s
            self.info[f"s4_{label}_fake_rss_mib"] = fake.rss_mib()
            try:
                cfile, _ = self.contacts_file(f"s4-{label}", fake)
                for rep in range(self.repeats):
                    print(f"  repeat {rep + 1}/{self.repeats}", flush=True)
                    np_db = self.path(f"s4-{label}-{rep}.sqlite")
                    cfg = self.config(f"s4-{label}", fake.url, np_db, 1)
                    self.np_import(cfg, cfile)
                    r = self.np_sync(cfg, fake)
                    self.check(r["new"] == n and r["requests"] == 1, f"S4 {label} np6-sync: {r['new']} new events in {r['requests']} request")
                    self.add(f"S4 {label}", "np6-sync", wall=r["wall"], cpu=r["cpu"], events_s=n / r["wall"],
                             cpu_us_event=r["cpu"] / n * 1e6, rss=r["rss_mib"], fake_cpu=r["fake_cpu"])
                    if n <= 100_000:
                        ref_db = self.path(f"s4-{label}-ref-{rep}.sqlite")
                        self.ref_import(ref_db, cfile)
                        rr = self.ref_sync(ref_db, fake, 1)
                        self.check(rr["new"] == n, f"S4 {label} reference: {rr['new']} new events")
                        self.add(f"S4 {label}", "reference", wall=rr["wall"], cpu=rr["cpu"], events_s=n / rr["wall"],
                                 cpu_us_event=rr["cpu"] / n * 1e6, rss=rr["rss_mib"], fake_cpu=rr["fake_cpu"])
                        if rep == 0:
                            self.compare(ref_db, np_db, fake)
                        os.remove(ref_db)
                    os.remove(np_db)
            finally:
                fake.stop()

    def s3(self):
        n = 3000 if self.quick else 1_000_000
        base_n = 2000
        window = 1.5 if self.quick else 10.0
        print(f"\n== S3 scale: {n} contacts in the database; the daemon's start-up and scheduling CPU per poll", flush=True)
        fake = Fake(self.binary, self.work, "s3", n, 0, 13)
        self.info["s3_fake_startup_s"] = fake.startup_s
        try:
            cfile, _ = self.contacts_file("s3", fake)
            base_file, _ = self.contacts_file("s3-base", fake, limit=base_n)
            big_db, base_db = self.path("s3-big.sqlite"), self.path("s3-base.sqlite")
            big_cfg_import = self.config("s3-import", fake.url, big_db, 16)
            imp = self.np_import(big_cfg_import, cfile)
            self.check(f"added {n}" in imp["stdout"], f"contacts import of {n}: {imp['stdout'].strip()}")
            self.add("S3 setup", f"contacts import of {n}", wall=imp["wall"], cpu=imp["cpu"], rss=imp["rss_mib"])
            self.np_import(self.config("s3-base-import", fake.url, base_db, 16), base_file)
            for db in (big_db, base_db):
                run_quiet(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE)"])
            self.info["s3_db_mib"] = os.path.getsize(big_db) / MIB
            for rep in range(self.repeats):
                print(f"  repeat {rep + 1}/{self.repeats}", flush=True)
                big = self.daemon(fake, big_db, f"s3-big-{rep}", interval=300, window=window)
                # The same daemon, same fake and same empty bodies, over 2,000 contacts: re-polled each
                # second, so it polls as continuously as over a million.
                base = self.daemon(fake, base_db, f"s3-base-{rep}", interval=1, window=window)
                self.add("S3 daemon", f"{n} contacts", startup=big["startup"], cpu_us_poll=big["cpu_us_poll"],
                         rss=big["rss"], polls_s=big["polls_s"], startup_cpu=big["startup_cpu"])
                self.add("S3 daemon", f"{base_n} contacts", startup=base["startup"], cpu_us_poll=base["cpu_us_poll"],
                         rss=base["rss"], polls_s=base["polls_s"], startup_cpu=base["startup_cpu"])
                self.ratio(f"S3 daemon CPU/poll {n} / {base_n} contacts", big["cpu_us_poll"] / base["cpu_us_poll"])
        finally:
            fake.stop()

    def daemon(self, fake, db, name, interval, window):
        run_db = self.path(f"{name}.sqlite")
        shutil.copyfile(db, run_db)
        cfg = self.config(name, fake.url, run_db, 16, interval=interval)
        lines, started_at = [], {}
        t0 = time.monotonic()
        p = subprocess.Popen([self.binary, "run", "--config", cfg], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=clean_env(NP6_API_KEY=KEY))

        def reader():
            for line in p.stderr:
                if "np6-sync started" in line and "t" not in started_at:
                    started_at["t"] = time.monotonic()
                    started_at["cpu"] = proc_cpu(p.pid)
                lines.append(line)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        try:
            while "t" not in started_at:
                if p.poll() is not None or time.monotonic() - t0 > 300:
                    raise SystemExit(f"daemon {name} did not start:\n{''.join(lines)}")
                time.sleep(0.002)
            startup = started_at["t"] - t0
            served0 = fake.requests_served()
            # Warm up: the first polls, then measure over a fixed window.
            while fake.requests_served() < served0 + 300:
                if p.poll() is not None:
                    raise SystemExit(f"daemon {name} exited:\n{''.join(lines)}")
                time.sleep(0.01)
            cpu0, polls0, w0 = proc_cpu(p.pid), fake.requests_served(), time.monotonic()
            time.sleep(window)
            cpu1, polls1, w1 = proc_cpu(p.pid), fake.requests_served(), time.monotonic()
            rss = proc_hwm_kib(p.pid) / 1024
            p.send_signal(signal.SIGTERM)
            rc = p.wait(30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        thread.join(5)
        polls = polls1 - polls0
        warnings = [l.strip() for l in lines if "level=warning" in l or "level=error" in l]
        self.check(rc == 0 and polls > 0, f"daemon {name}: started in {startup:.3f} s, {polls} polls in "
                   f"{w1 - w0:.1f} s, exit {rc} on SIGTERM, {len(warnings)} warnings")
        for w in warnings[:3]:
            print("       " + w[:200])
        os.remove(run_db)
        return {"startup": startup, "startup_cpu": started_at["cpu"], "cpu_us_poll": (cpu1 - cpu0) / polls * 1e6,
                "rss": rss, "polls_s": polls / (w1 - w0)}

    # ------------------------------------------------------------------------------------------

    def med(self, scenario, row, metric):
        values = self.results.get((scenario, row), {}).get(metric)
        return statistics.median(values) if values else None

    def report(self):
        print(f"\n== Medians of {self.repeats} run(s)")
        cols = [("wall", "wall s", "{:.3f}"), ("cpu", "CPU s", "{:.3f}"), ("cpu_us_poll", "CPU µs/poll", "{:.0f}"),
                ("events_s", "events/s", "{:,.0f}"), ("cpu_us_event", "CPU µs/event", "{:.1f}"),
                ("rss", "peak RSS MiB", "{:.1f}"), ("startup", "start-up s", "{:.3f}"),
                ("fake_cpu", "fake CPU s", "{:.2f}")]
        header = ["scenario", "implementation"] + [c[1] for c in cols]
        rows = []
        for (scenario, row), metrics in self.results.items():
            if not any(key in metrics for key, _, _ in cols):
                continue  # S5's figures are listed below
            cells = [scenario, row]
            for key, _, fmt in cols:
                v = metrics.get(key)
                cells.append(fmt.format(statistics.median(v)) if v else "")
            rows.append(cells)
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for cells in rows:
            print("| " + " | ".join(cells) + " |")
        extra = {k: v for k, v in self.results.items() if "polls_s" in v or "startup_cpu" in v or "rps" in v}
        if extra:
            print()
            for (scenario, row), m in extra.items():
                parts = []
                if "rps" in m:
                    parts.append(f"{statistics.median(m['rps']):,.0f} requests/s")
                if "polls_s" in m:
                    parts.append(f"start-up CPU {statistics.median(m['startup_cpu']):.3f} s, "
                                 f"{statistics.median(m['polls_s']):,.0f} polls/s while measured")
                print(f"- {scenario}, {row}: " + "; ".join(parts))
        for (scenario, row), m in self.results.items():
            if "used" in m:
                print(f"- {scenario}, {row}: {statistics.median(m['used']):.1%} of the cluster-wide limit "
                      f"(runs: {', '.join(f'{u:.1%}' for u in m['used'])}), "
                      f"{statistics.median(m['r429']):.2%} of the answers 429")
            if "failover" in m:
                print(f"- {scenario}: contacts of the killed daemon polled again after "
                      f"{statistics.median(m['failover']):.1f} s (runs: {', '.join(f'{x:.1f}' for x in m['failover'])})")
        if self.info:
            print("- " + ", ".join(f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}" for k, v in self.info.items()))

        if self.quick:
            print(f"\nquick mode: correctness only, {sum(ok for ok, _ in self.checks)}/{len(self.checks)} checks passed")
            return all(ok for ok, _ in self.checks)

        print("\n== Ratios (median of the per-run ratios) and targets")
        targets = []
        r = {k: statistics.median(v) for k, v in self.ratios.items()}
        for k, v in r.items():
            print(f"- {k}: {v:.3f}  (runs: {', '.join(f'{x:.3f}' for x in self.ratios[k])})")

        for c in (1, 16):
            fixed = {impl: self.med("S1 fixed cost (pass over 0 contacts)", impl, "cpu") for impl in ("np6-sync", "reference")}
            per = {impl: self.med(f"S1 c{c}", impl, "cpu") for impl in ("np6-sync", "reference")}
            if all(fixed.values()) and all(per.values()):
                n = self.info["s1_contacts"]
                m_np, m_ref = ((per[i] - fixed[i]) / n * 1e6 for i in ("np6-sync", "reference"))
                print(f"- S1 c{c} marginal CPU/poll (pass minus a pass over 0 contacts), np6-sync / reference: "
                      f"{m_np:.0f} / {m_ref:.0f} µs = {m_np / m_ref:.3f}  (information)")

        def target(name, value, ok, text):
            targets.append((name, value, ok, text))

        def ratio_target(name, key, holds, fmt):
            # A scenario left out with --only has no ratio: its targets are not listed.
            v = r.get(key)
            if v is not None:
                target(name, v, holds(v), fmt.format(v))

        ratio_target("S1 CPU/poll <= 1/5 of the reference's (c16)", "S1 c16 CPU/poll np6-sync / reference",
                     lambda v: v <= 0.2, "{:.3f}")
        ratio_target("S1 CPU/poll <= 1/5 of the reference's (c1)", "S1 c1 CPU/poll np6-sync / reference",
                     lambda v: v <= 0.2, "{:.3f}")
        ratio_target("S1 c16 wall <= 1.2x the fake's ceiling", "S1 c16 wall np6-sync / fake ceiling",
                     lambda v: v <= 1.2, "{:.3f}x")
        for c in (1, 16):
            ratio_target(f"S2 c{c} events/s >= 60% of raw SQLite", f"S2 c{c} events/s np6-sync / raw SQLite",
                         lambda v: v >= 0.6, "{:.1%}")
            ratio_target(f"S2 c{c} events/s >= 2x the reference", f"S2 c{c} events/s np6-sync / reference",
                         lambda v: v >= 2, "{:.2f}x")
            ratio_target(f"S2 c{c} PostgreSQL events/s >= 50% of SQLite's", f"S2 c{c} events/s PostgreSQL / SQLite",
                         lambda v: v >= 0.5, "{:.1%}")
        for (scenario, row), m in self.results.items():
            if "used" in m:
                used, limited = statistics.median(m["used"]), statistics.median(m["r429"])
                target(f"{scenario} {row}: >= 95% of the cluster-wide limit, < 1% 429", used,
                       used >= 0.95 and limited < 0.01, f"{used:.1%}, {limited:.2%} 429")
        for scen, row in (("S2 c1", "np6-sync"), ("S2 c16", "np6-sync"), ("S3 daemon", "1000000 contacts"),
                          ("S4 100k", "np6-sync"), ("S4 1M", "np6-sync")):
            v = self.med(scen, row, "rss")
            if v is not None:
                target(f"{scen} {row}: peak RSS < 64 MiB", v, v < 64, f"{v:.1f} MiB")
        a, b = self.med("S4 100k", "np6-sync", "rss"), self.med("S4 1M", "np6-sync", "rss")
        if a and b:
            target("S4 RSS does not grow with the body (1M / 100k)", b / a, b / a < 1.25, f"{b:.1f} / {a:.1f} MiB = {b / a:.2f}")
        s3 = self.med("S3 daemon", "1000000 contacts", "cpu_us_poll")
        s1 = self.med("S1 c16", "np6-sync", "cpu_us_poll")
        if s3 and s1:
            target("S3 scheduling CPU/poll <= 1.5x S1's (daemon, 1M contacts vs sync, c16)", s3 / s1, s3 / s1 <= 1.5,
                   f"{s3:.0f} / {s1:.0f} µs = {s3 / s1:.2f}x")
        v = r.get("S3 daemon CPU/poll 1000000 / 2000 contacts")
        if v:
            target("S3 scheduling CPU/poll <= 1.5x with 2,000 contacts (same daemon)", v, v <= 1.5, f"{v:.2f}x")
        print("\n| target | measured | holds |\n|---|---|---|")
        for name, _, ok, text in targets:
            print(f"| {name} | {text} | {'yes' if ok else '**no**'} |")
        failed = [what for ok, what in self.checks if not ok]
        print(f"\ncorrectness checks: {len(self.checks) - len(failed)}/{len(self.checks)} passed")
        for what in failed:
            print("  FAIL " + what)
        return not failed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="s1,s2,s4,s3", help="scenarios to run, e.g. s1,s2")
    parser.add_argument("--workdir", default=None, help="where the databases go (default: $TMPDIR)")
    parser.add_argument("--json", help="also write every figure of every run to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    bench = Bench(args)
    started = time.monotonic()
    try:
        for name in args.only.split(","):
            getattr(bench, name.strip())()
        ok = bench.report()
    finally:
        if not args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": [{"scenario": s, "row": r, **m} for (s, r), m in bench.results.items()],
                       "ratios": bench.ratios, "info": bench.info,
                       "checks": [{"ok": ok, "what": w} for ok, w in bench.checks]}, f, indent=1)
    print(f"\n(benchmark took {time.monotonic() - started:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
