#!/usr/bin/env bash
# Builds both libFuzzer targets and runs each for SECONDS (default 60), one after the other.
# Usage: bash fuzz/run.sh [SECONDS]
#
# Prints, per target, the executions, exec/s and coverage (cov/ft of libFuzzer's last status
# line). Exits 1 when a target found a crash, a leak, an out-of-memory or a timeout, printing the
# reproducer's path; replay one with `fuzz/.build-fuzz/splitter-fuzzer PATH`.
#
# Everything generated stays in fuzz/.build-fuzz/ (git-ignored): the binaries, a working corpus
# per target (seeded from fuzz/corpus/ and grown across runs; FUZZ_FRESH=1 starts it anew),
# reproducers under artifacts/ and the full logs.
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in '' | *[!0-9]*) echo "usage: bash fuzz/run.sh [SECONDS]" >&2; exit 2 ;; esac

here="$(cd "$(dirname "$0")" && pwd)"
out="$here/.build-fuzz"
bash "$here/build.sh"

# The Swift runtime's backtracer would catch the crash before libFuzzer and can hang; libFuzzer
# and ASan print the stack themselves.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

failed=0
for target in splitter config; do
    corpus="$out/corpus/$target"
    artifacts="$out/artifacts/$target"
    log="$out/$target.log"
    [ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
    mkdir -p "$corpus" "$artifacts"
    cp -n "$here/corpus/$target"/* "$corpus"/ 2>/dev/null || true
    marker="$out/.started-$target"
    touch "$marker"

    echo "== $target: ${seconds}s"
    status=0
    "$out/$target-fuzzer" \
        -max_total_time="$seconds" \
        -rss_limit_mb=2048 \
        -timeout=10 \
        -max_len=8192 \
        -dict="$here/$target.dict" \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" \
        "$corpus" >"$log" 2>&1 || status=$?

    last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    cov="$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)"
    ft="$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)"
    corp="$(grep -oE 'corp: [^ ]+' <<<"$last" | cut -d' ' -f2 || true)"
    echo "$target: executions=${executions:-?} exec/s=${rate:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?} (log: $log)"

    found="$(find "$artifacts" -type f -newer "$marker")"
    if [ "$status" -ne 0 ] || [ -n "$found" ]; then
        failed=1
        echo "$target: FAILED (libFuzzer exit $status)"
        grep -E 'Fatal error|invariant violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|SUMMARY|Test unit written to' "$log" \
            | head -n 20 || true
        sed 's/^/reproducer: /' <<<"$found" | head -n 5
    fi
done

if [ "$failed" -ne 0 ]; then
    echo "fuzz: a target failed; see the reproducers above"
    exit 1
fi
echo "fuzz: no crash, leak or timeout"
