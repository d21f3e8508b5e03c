#!/usr/bin/env python3
"""Summarises a `perf record -g -e cpu-clock` profile of np6-sync: where the CPU goes, by layer and
by the innermost np6-sync function on the stack.

    perf script -i FILE.perf | benchmarks/perf_breakdown.py [--top 25]

Each sample is walked from the leaf towards the root; frames of the kernel, libc and the Swift
runtime are skipped, and the first frame of a library that means something (SQLite, GRDB, NIO,
AsyncHTTPClient, Foundation, np6-sync's own modules) names the layer. A sample with no such frame is
counted as runtime, thread wake-up or start-up work. Used by benchmarks/profile.sh.
"""

import argparse
import collections
import re
import subprocess
import sys

LAYERS = [  # (layer, pattern on a frame "symbol (dso)"), first match from the leaf wins
    ("SQLite (libsqlite3, incl. its kernel I/O)", re.compile(r"libsqlite3")),
    ("GRDB", re.compile(r"\$s4GRDB")),
    ("np6-sync JSON split/decode (NP6Client)", re.compile(r"\$s9NP6Client\d*(JSONArraySplitter|JSONScanner|EventDecoder)")),
    ("np6-sync NP6Client (query, client)", re.compile(r"\$s9NP6Client")),
    ("np6-sync SyncStore (SQL glue)", re.compile(r"\$s9SyncStore")),
    ("np6-sync NP6Sync (poller, scheduler, pass)", re.compile(r"\$s7NP6Sync")),
    ("np6-sync CLI", re.compile(r"\$s8np6_sync|np6_sync_main")),
    ("HTTP: AsyncHTTPClient (incl. its tracing spans)", re.compile(r"\$s15AsyncHTTPClient|\$s7Tracing|\$s15Instrumentation")),
    ("HTTP: SwiftNIO (incl. llhttp, kernel TCP)", re.compile(r"\$s\d+NIO|c_nio_|CNIO")),
    ("Foundation (URL parsing, …)", re.compile(r"Foundation")),
    ("swift-log / metrics / lifecycle / arguments", re.compile(r"\$s7Logging|\$s\d+Metrics|\$s16ServiceLifecycle|\$s14ArgumentParser|Prometheus")),
]
SKIP = re.compile(r"\[kernel|libc\.so|libswiftCore|libswift_Concurrency|libdispatch|libswiftDispatch|ld-linux|\[unknown\]|\[vdso\]|libstdc")
PROJECT = re.compile(r"\$s(9NP6Client|9SyncStore|7NP6Sync|8np6_sync)\S*")
DEMANGLE = "swift-demangle"


def samples(stream):
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if line.startswith((" ", "\t")):
            m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)$", line)
            if m:
                sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
                frames.append((sym, m.group(2)))
    if frames:
        yield frames


def classify(frames):
    for sym, dso in frames:
        text = f"{sym} ({dso})"
        for layer, pattern in LAYERS:
            if pattern.search(text):
                return layer
        if not SKIP.search(dso) and not sym.startswith("[unknown]"):
            if re.search(r"instantiate|Metadata|conformsTo", sym):
                return "Swift runtime: generic metadata, conformance lookups"
            if re.search(r"^\$s[sS]", sym):
                continue  # a standard-library specialisation compiled into the binary: look at its caller
            return "other: " + dso.rsplit("/", 1)[-1]
    kernel = " ".join(s for s, d in frames if "kernel" in d)
    if re.search(r"sys_(pwrite|pread|fcntl|fdatasync|fsync|openat|unlink|ftruncate)|fcntl_setlk", kernel):
        return "SQLite file I/O and locks (kernel; libc hides the caller)"
    if re.search(r"tcp_|sys_(sendmsg|recvmsg|writev|readv|sendto|recvfrom)|sock_", kernel):
        return "HTTP: kernel TCP (libc hides the caller)"
    if any("_dl_" in s or "dl_main" in s or "do_lookup_x" in s for s, _ in frames):
        return "start-up: dynamic loading"
    if frames and "kernel" in frames[0][1] and any(k in frames[0][0] for k in ("switch", "schedule", "spin_unlock")):
        return "thread switches / wake-ups (kernel scheduler, futex, epoll)"
    if any("swift_job_run" in s or "swift_task" in s for s, _ in frames):
        return "Swift concurrency runtime (task switches, allocation)"
    if any("dispatch" in s for s, _ in frames):
        return "libdispatch (queues, thread pool)"
    if all("kernel" in d for _, d in frames):
        return "kernel (no user frame)"
    if frames and re.search(r"malloc|free|swift_(retain|release|alloc|dealloc)", frames[0][0]):
        return "malloc/free, retain/release (caller unknown)"
    return "runtime/libc, no caller known"


def demangle(names):
    try:
        out = subprocess.run([DEMANGLE, "--simplified"], input="\n".join(names), capture_output=True, text=True, timeout=30)
        result = out.stdout.splitlines()
        if len(result) == len(names):
            return result
    except (OSError, subprocess.SubprocessError):
        pass
    return names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    layers, project, leaf, kernel = collections.Counter(), collections.Counter(), collections.Counter(), 0
    total = 0
    for frames in samples(sys.stdin):
        total += 1
        layers[classify(frames)] += 1
        if frames and "kernel" in frames[0][1]:
            kernel += 1
        mine = next((PROJECT.search(s).group(0) for s, _ in frames if PROJECT.search(s)), None)
        project[mine or "(no np6-sync frame on the stack)"] += 1
        leaf[f"{frames[0][0]} ({frames[0][1].rsplit('/', 1)[-1]})" if frames else "?"] += 1
    if not total:
        sys.exit("no samples")
    print(f"{total} samples; {100 * kernel / total:.1f}% of them in the kernel")
    print("\nBy layer (innermost meaningful frame):")
    for name, n in layers.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    for title, counter in ((f"By innermost np6-sync function on the stack (top {args.top}):", project),
                           (f"Self time, top {args.top} functions:", leaf)):
        # Async functions have one symbol per continuation: merge them under their demangled name.
        names = list(counter)
        merged = collections.Counter()
        for name, pretty in zip(names, demangle(names)):
            merged[pretty] += counter[name]
        print("\n" + title)
        for pretty, n in merged.most_common(args.top):
            print(f"  {100 * n / total:5.1f}%  {pretty[:160]}")


if __name__ == "__main__":
    main()
