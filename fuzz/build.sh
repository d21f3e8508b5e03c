#!/usr/bin/env bash
# Builds the libFuzzer targets into fuzz/.build-fuzz/ (git-ignored) with swiftc alone: no SwiftPM,
# no NIO. Usage: bash fuzz/build.sh
#
# NP6Client's JSON and Model sources become a module of their own, so the harnesses and the
# configuration sources see exactly its public API, as in the package. Its HTTP folder needs NIO
# and AsyncHTTPClient, and nothing here uses it. The configuration sources (plain Swift and Glibc)
# are compiled into a module named NP6Sync together with the config harness.
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

client_sources=(
    Sources/NP6Client/JSON/EventDecoder.swift
    Sources/NP6Client/JSON/JSONArraySplitter.swift
    Sources/NP6Client/JSON/JSONArraySplitterError.swift
    Sources/NP6Client/JSON/JSONParseError.swift
    Sources/NP6Client/JSON/JSONScanner.swift
    Sources/NP6Client/JSON/JSONText.swift
    Sources/NP6Client/JSON/JSONValue.swift
    Sources/NP6Client/Model/ContactReference.swift
    Sources/NP6Client/Model/StopEvent.swift
    Sources/NP6Client/Model/Timestamp.swift
)
configuration_sources=(
    Sources/NP6Sync/Configuration/APIConfiguration+Key.swift
    Sources/NP6Sync/Configuration/APIConfiguration.swift
    Sources/NP6Sync/Configuration/ConfigurationDecoder+Values.swift
    Sources/NP6Sync/Configuration/ConfigurationDecoder.swift
    Sources/NP6Sync/Configuration/ConfigurationError.swift
    Sources/NP6Sync/Configuration/ConfigurationFiles.swift
    Sources/NP6Sync/Configuration/ContactList.swift
    Sources/NP6Sync/Configuration/DatabaseConfiguration.swift
    Sources/NP6Sync/Configuration/LoggingConfiguration.swift
    Sources/NP6Sync/Configuration/MetricsConfiguration.swift
    Sources/NP6Sync/Configuration/ScheduleConfiguration.swift
    Sources/NP6Sync/Configuration/Secret.swift
    Sources/NP6Sync/Configuration/SinkConfiguration+Decoding.swift
    Sources/NP6Sync/Configuration/SinkConfiguration.swift
    Sources/NP6Sync/Configuration/SyncConfiguration+Loading.swift
    Sources/NP6Sync/Configuration/SyncConfiguration+ReferencedFiles.swift
    Sources/NP6Sync/Configuration/SyncConfiguration.swift
    Sources/NP6Sync/Configuration/SyncWindowConfiguration.swift
)

# A file added to one of these folders is not fuzzed until it is listed here; say so.
for folder in Sources/NP6Client/JSON Sources/NP6Client/Model Sources/NP6Sync/Configuration; do
    for file in "$folder"/*.swift; do
        case " ${client_sources[*]} ${configuration_sources[*]} " in
            *" $file "*) ;;
            *) echo "fuzz/build.sh: note: $file is not listed; add it if the targets need it" >&2 ;;
        esac
    done
done

echo "building NP6Client (JSON + Model) for fuzzing"
"$swiftc" "${flags[@]}" -module-name NP6Client -whole-module-optimization \
    -emit-module -emit-module-path "$out/NP6Client.swiftmodule" \
    -c "${client_sources[@]}" -o "$out/NP6Client.o"

# ld.gold warns about ASan's local symbols ("Cannot export local symbol"); harmless.
quiet_link() { grep -v "Cannot export local symbol" >&2 || true; }

echo "building splitter-fuzzer"
"$swiftc" "${flags[@]}" -module-name SplitterFuzzer -I "$out" \
    fuzz/SplitterFuzzer.swift "$out/NP6Client.o" -o "$out/splitter-fuzzer" 2>&1 | quiet_link

echo "building config-fuzzer"
"$swiftc" "${flags[@]}" -module-name NP6Sync -I "$out" \
    fuzz/ConfigFuzzer.swift "${configuration_sources[@]}" "$out/NP6Client.o" \
    -o "$out/config-fuzzer" 2>&1 | quiet_link

test -x "$out/splitter-fuzzer" && test -x "$out/config-fuzzer"
echo "built $out/splitter-fuzzer and $out/config-fuzzer"
