#!/usr/bin/env bash
# np6-sync benchmarks: S1-S4 side by side with the Python reference and with the limits
# (the fake API's ceiling measured with wrk, the sqlite3 shell's raw insert rate), one table of
# medians and the target ratios at the end. See benchmarks/RESULTS.md.
#
#   benchmarks/run.sh            full run: 3 repeats, median quoted (about 10 minutes on 2 cores)
#   benchmarks/run.sh --quick    tiny sizes, 1 repeat, correctness checks only (CI; under 2 minutes)
#   benchmarks/run.sh --repeats 5 --only s1,s2 --json out.json     (options go to benchmarks/bench.py)
#
# Builds release into .build-bench (its own scratch path) unless NP6_SYNC_BINARY names a binary.
# Needs python3 with requests, sqlite3, GNU time (/usr/bin/time) and, for the full run, wrk:
#   apt-get install -y sqlite3 time wrk
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in python3 sqlite3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install -y sqlite3 time)" >&2; exit 1; }
done
python3 -c 'import requests' 2>/dev/null || { echo "run.sh: python3 needs requests (pip install requests)" >&2; exit 1; }

if [ -z "${NP6_SYNC_BINARY:-}" ]; then
  swift build -c release --product np6-sync --scratch-path .build-bench >&2
  NP6_SYNC_BINARY=.build-bench/release/np6-sync
fi
echo "np6-sync: $NP6_SYNC_BINARY ($("$NP6_SYNC_BINARY" --version 2>/dev/null || echo '?'))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(date -u +%Y-%m-%dT%H:%MZ)"
exec python3 benchmarks/bench.py --binary "$NP6_SYNC_BINARY" "$@"
