#!/usr/bin/env bash
# CPU profiles of np6-sync in the benchmark scenarios, summarised by layer (benchmarks/perf_breakdown.py).
#
#   benchmarks/profile.sh [s1|s2|daemon|all]     (default all)
#
#   s1      one steady-state `sync` pass over 2,000 synced contacts, at concurrency 1 and 16
#   s2      a 100,000-event backfill (500 contacts x 200), plus syscall counts (strace -c) when
#           strace is installed
#   daemon  `np6-sync run` over 2,000 due contacts re-polled every second, profiled for 8 s
#
# Uses `perf record -e cpu-clock -g` (software clock: works in VMs without hardware counters).
# valgrind 3.19 crashes on the Swift 6 binary (internal SIGSEGV), hence perf. Needs
# kernel.perf_event_paranoid <= 2. Uses $NP6_SYNC_BINARY when set, else builds release into
# .build-bench. Set KEEP=1 to keep the perf data (its directory is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
command -v perf >/dev/null || { echo "profile.sh: perf is missing (apt-get install -y linux-perf)" >&2; exit 1; }
if [ -z "${NP6_SYNC_BINARY:-}" ]; then
  swift build -c release --product np6-sync --scratch-path .build-bench >&2
  NP6_SYNC_BINARY=.build-bench/release/np6-sync
fi
bin=$(realpath "$NP6_SYNC_BINARY")
breakdown="python3 $(pwd)/benchmarks/perf_breakdown.py"
work=$(mktemp -d /tmp/np6-profile.XXXXXX)
fake=""
cleanup() {
  [ -n "$fake" ] && kill "$fake" 2>/dev/null && wait "$fake" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "perf data kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
export NP6_FAKE_API_KEY=profile-key NP6_API_KEY=profile-key
unset JOURNAL_STREAM STATE_DIRECTORY CREDENTIALS_DIRECTORY NP6_SYNC_CONFIG NOTIFY_SOCKET

start_fake() { # contacts events-per-contact seed
  [ -n "$fake" ] && { kill "$fake"; wait "$fake" 2>/dev/null || true; }
  "$bin" fake-api --port 0 --contacts "$1" --events-per-contact "$2" --seed "$3" >"$work/fake.out" 2>"$work/fake.err" &
  fake=$!
  for _ in $(seq 600); do grep -q listening "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
  url=$(grep -o 'http://[^ ]*' "$work/fake.out")
  curl -fs "$url/_fake/contacts" | python3 -c 'import json,sys; [print("id:"+c["id"]) for c in json.load(sys.stdin)]' >"$work/contacts.txt"
}
config() { # name concurrency interval
  cat >"$work/$1.json" <<JSON
{"api": {"baseURL": "$url", "requestsPerSecond": 10000, "maxConcurrentRequests": $2},
 "database": {"path": "$work/$1.sqlite"}, "schedule": {"intervalSeconds": $3, "jitterSeconds": 0},
 "logging": {"level": "info"}}
JSON
  echo "$work/$1.json"
}
report() { # perf-data title
  echo; echo "=================== $2"
  perf script -i "$1" 2>/dev/null | $breakdown --top 15
}

if [ "$what" = s1 ] || [ "$what" = all ]; then
  start_fake 2000 0-3 11
  for c in 1 16; do
    cfg=$(config s1 "$c" 300)
    [ -f "$work/s1.sqlite" ] || { "$bin" contacts import "$work/contacts.txt" --config "$cfg" >/dev/null; "$bin" sync --config "$cfg" >/dev/null 2>&1; }
    perf record -q -e cpu-clock -F 4000 -g -o "$work/s1-c$c.perf" -- "$bin" sync --config "$cfg" 2>/dev/null
    report "$work/s1-c$c.perf" "S1: a sync pass that finds nothing, 2,000 contacts, concurrency $c"
  done
fi

if [ "$what" = s2 ] || [ "$what" = all ]; then
  start_fake 500 200 12
  cfg=$(config s2 1 300)
  "$bin" contacts import "$work/contacts.txt" --config "$cfg" >/dev/null
  perf record -q -e cpu-clock -F 2000 -g -o "$work/s2.perf" -- "$bin" sync --config "$cfg" 2>/dev/null
  report "$work/s2.perf" "S2: backfill of 100,000 events, concurrency 1"
  if command -v strace >/dev/null; then
    rm -f "$work"/s2.sqlite*
    "$bin" contacts import "$work/contacts.txt" --config "$cfg" >/dev/null
    strace -f -c -e trace=pwrite64,pread64,fdatasync,fsync,fcntl -o "$work/s2.strace" "$bin" sync --config "$cfg" >/dev/null 2>&1
    echo; echo "S2 file syscalls (strace -c; the database file is $(du -m "$work/s2.sqlite" | cut -f1) MB):"
    cat "$work/s2.strace"
  fi
fi

if [ "$what" = daemon ] || [ "$what" = all ]; then
  start_fake 2000 0 13
  cfg=$(config daemon 16 1)
  "$bin" contacts import "$work/contacts.txt" --config "$cfg" >/dev/null
  "$bin" run --config "$cfg" 2>"$work/daemon.err" &
  daemon=$!
  sleep 2
  before=$(curl -fs "$url/_fake/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  perf record -q -e cpu-clock -F 2000 -g -p "$daemon" -o "$work/daemon.perf" -- sleep 8 2>/dev/null
  after=$(curl -fs "$url/_fake/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  kill -TERM "$daemon"; wait "$daemon" || true
  report "$work/daemon.perf" "daemon: 2,000 contacts re-polled every second, $((after - before)) polls in 8 s (under perf)"
fi
