#!/usr/bin/env bash
# Builds the libFuzzer targets into fuzz/.build-fuzz/ (git-ignored) with swiftc alone: no SwiftPM,
# no NIO. Usage: bash fuzz/build.sh
#
# The harnesses build against the package's own modules, compiled from their folders as they are:
# NP6Model (no dependencies) and Config (which depends only on NP6Model). A file added to either
# module is fuzzed without touching this script. Config is built with testing enabled, so the
# config harness reaches the loader's internal entry points (`@testable import Config`).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/fuzz/.build-fuzz"
mkdir -p "$out"
cd "$root"

swiftc="${SWIFTC:-swiftc}"
flags=(
    -sanitize=fuzzer,address -parse-as-library -O -g
    -swift-version 6
    -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility
)

# A module of the package: every Swift file in its folder.
build_module() {
    local name="$1"
    shift
    local sources
    mapfile -t sources < <(find "Sources/$name" -name '*.swift' | sort)
    echo "building $name (${#sources[@]} files) for fuzzing"
    "$swiftc" "${flags[@]}" "$@" -module-name "$name" -whole-module-optimization -I "$out" \
        -emit-module -emit-module-path "$out/$name.swiftmodule" \
        -c "${sources[@]}" -o "$out/$name.o"
}

build_module NP6Model
build_module Config -enable-testing

# ld.gold warns about ASan's local symbols ("Cannot export local symbol"); harmless.
quiet_link() { grep -v "Cannot export local symbol" >&2 || true; }

echo "building splitter-fuzzer"
"$swiftc" "${flags[@]}" -module-name SplitterFuzzer -I "$out" \
    fuzz/SplitterFuzzer.swift "$out/NP6Model.o" -o "$out/splitter-fuzzer" 2>&1 | quiet_link

echo "building config-fuzzer"
"$swiftc" "${flags[@]}" -module-name ConfigFuzzer -I "$out" \
    fuzz/ConfigFuzzer.swift "$out/Config.o" "$out/NP6Model.o" \
    -o "$out/config-fuzzer" 2>&1 | quiet_link

test -x "$out/splitter-fuzzer" && test -x "$out/config-fuzzer"
echo "built $out/splitter-fuzzer and $out/config-fuzzer"
