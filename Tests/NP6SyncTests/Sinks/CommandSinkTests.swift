import Config
import Foundation
import InMemoryLogging
import Logging
import NP6Model
import SQLiteStore
import SyncStore
import TestClocks
import Testing

@testable import NP6Sync
@testable import Sinks

extension SinkTests {
    @Suite(.timeLimit(.minutes(5))) struct CommandSinkTests {
        func sink(
            _ fixture: SinkFixture, _ arguments: [String], timeoutSeconds: Int = 10,
            environment: [String: String] = [:],
            daemonEnvironment: [String: String] = ProcessInfo.processInfo.environment
        ) -> CommandSink {
            CommandSink(
                name: "script",
                configuration: CommandSinkConfiguration(
                    arguments: arguments, timeoutSeconds: timeoutSeconds, environment: environment),
                logger: fixture.supervisor([]).sinkLogger(
                    SinkConfiguration(
                        name: "script", kind: .command(CommandSinkConfiguration(arguments: arguments)))),
                daemonEnvironment: daemonEnvironment)
        }

        @Test func programGetsOnlyTheAllowListedEnvironmentAndItsEnvObject() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                let out = fixture.path("environment")
                let daemon = [
                    "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_TIME": "fr_FR.UTF-8",
                    "LC_ALL": "C.UTF-8", "TZ": "Europe/Paris", "HOME": "/var/lib/np6-sync",
                    "NP6_API_KEY": "np6-key-that-must-not-leak", "CREDENTIALS_DIRECTORY": "/run/credentials/np6-sync",
                    "NOTIFY_SOCKET": "/run/systemd/notify", "JOURNAL_STREAM": "8:1234", "INVOCATION_ID": "abc",
                    "NP6_SYNC_CONFIG": "/etc/np6-sync/config.json", "USER": "np6-sync",
                ]
                // Run by name: found in the PATH the program gets.
                try await sink(
                    fixture, ["sh", "-c", #"cat >/dev/null; exec env > "$0""#, out],
                    environment: ["CRM_TOKEN": "t0ken", "TZ": "UTC"], daemonEnvironment: daemon
                ).deliver(try await fixture.storedEvents())
                var seen: [String: String] = [:]
                for line in try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n") {
                    let parts = line.split(separator: "=", maxSplits: 1)
                    seen[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
                }
                // The shell adds PWD itself.
                seen["PWD"] = nil
                #expect(
                    seen == [
                        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_TIME": "fr_FR.UTF-8",
                        "LC_ALL": "C.UTF-8", "TZ": "UTC", "HOME": "/var/lib/np6-sync", "CRM_TOKEN": "t0ken",
                        "NP6_SYNC_SINK": "script",
                    ])
            }
        }

        @Test func recordsArriveOnStandardInputAsJSONLines() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(4)
                let events = try await fixture.storedEvents()
                let out = fixture.path("stdin-copy")
                // A program found in PATH, arguments passed as they are: no shell splits "$0".
                try await sink(fixture, ["sh", "-c", #"cat > "$0""#, out]).deliver(events)
                #expect(
                    try String(contentsOfFile: out, encoding: .utf8)
                        == String(decoding: events.recordLines, as: UTF8.self))
            }
        }

        @Test func nonzeroExitIsTransientAndStderrIsLoggedWithTheSinkName() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                await #expect {
                    try await sink(
                        fixture,
                        ["/bin/sh", "-c", "cat >/dev/null; echo 'crm is down' >&2; echo 'try later' >&2; exit 3"]
                    )
                    .deliver(try await fixture.storedEvents())
                } throws: { error in
                    guard case .transient(let reason, nil) = error as? SinkError else { return false }
                    return reason == "/bin/sh exited with status 3: crm is down | try later"
                }
                let stderr = fixture.logs.entries.filter { $0.message.description == "Command sink wrote to stderr" }
                #expect(stderr.map { $0.metadata["command.stderr"]?.description } == ["crm is down", "try later"])
                #expect(stderr.allSatisfy { $0.level == .warning && $0.metadata["sink.name"] == "script" })
            }
        }

        @Test func exitStatus65RejectsTheBatch() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                await #expect {
                    try await sink(fixture, ["/bin/sh", "-c", "echo 'unknown contact' >&2; exit 65"]).deliver(
                        try await fixture.storedEvents())
                } throws: { error in
                    error as? SinkError == .permanent(reason: "/bin/sh exited with status 65: unknown contact")
                }
            }
        }

        /// Delivers `events` while the fixture's clock stands still, then moves it past the
        /// sink's timeout once the run sleeps on it (and, with `ready`, once the program has said
        /// so on that FIFO); returns how the delivery ended.
        func deliverTimingOut(
            _ sink: CommandSink, _ events: [StoredEvent], on clock: ManualClock, ready: String? = nil
        ) async throws -> (any Error)? {
            let delivery = Task { () -> (any Error)? in
                do {
                    try await sink.deliver(events)
                    return nil
                } catch {
                    return error
                }
            }
            if let ready { #expect(try await firstLine(ofFIFO: ready) == "ready") }
            try await clock.waitForSleepers(1, until: clock.now.advanced(by: sink.timeout))
            clock.advance(by: sink.timeout)
            return await delivery.value
        }

        @Test func timeoutIsMeasuredOnTheSinksClock() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                // A millisecond of the sink's clock, which stands still: a program that takes
                // longer in real time is not stopped.
                var sink = sink(fixture, ["/bin/sh", "-c", "cat >/dev/null; sleep 0.3"])
                sink.timeout = .milliseconds(1)
                sink.clock = fixture.clock
                try await sink.deliver(try await fixture.storedEvents())
            }
        }

        @Test func programOutlivingItsTimeoutIsKilled() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                let ready = fixture.path("ready")
                #expect(mkfifo(ready, 0o600) == 0)
                var sink = sink(
                    fixture, ["/bin/sh", "-c", #"echo ready > "$0"; exec sleep 30"#, ready], timeoutSeconds: 1)
                sink.clock = fixture.clock
                let error = try await deliverTimingOut(
                    sink, try await fixture.storedEvents(), on: fixture.clock, ready: ready)
                guard case .transient(let reason, _) = error as? SinkError else {
                    Issue.record("expected a transient error, got \(String(describing: error))")
                    return
                }
                #expect(reason.contains("did not finish within"))
            }
        }

        @Test func timedOutProgramGetsSIGTERMFirst() async throws {
            // With a grace period longer than the test's patience, only SIGTERM can end it in time:
            // the child must not inherit a mask that blocks it.
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                let ready = fixture.path("ready")
                #expect(mkfifo(ready, 0o600) == 0)
                var sink = sink(fixture, ["/bin/sh", "-c", #"echo ready > "$0"; exec sleep 120"#, ready])
                sink.timeout = .milliseconds(200)
                sink.killGrace = .seconds(60)
                sink.clock = fixture.clock
                let started = ContinuousClock.now
                let error = try await deliverTimingOut(
                    sink, try await fixture.storedEvents(), on: fixture.clock, ready: ready)
                #expect(
                    error as? SinkError
                        == .transient(
                            reason: "/bin/sh did not finish within 0.2 seconds and was killed", retryAfter: nil))
                #expect(ContinuousClock.now - started < .seconds(30))
            }
        }

        @Test func programIgnoringSIGTERMIsKilledWithSIGKILL() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                // It logs the SIGTERM and goes on: only SIGKILL ends the loop. It says when its
                // trap is set, and only then does the clock reach the timeout.
                let ready = fixture.path("ready")
                #expect(mkfifo(ready, 0o600) == 0)
                var sink = sink(
                    fixture,
                    [
                        "/bin/sh", "-c",
                        #"trap 'echo got TERM >&2' TERM; echo ready > "$0"; while :; do sleep 1 & wait $!; done"#,
                        ready,
                    ])
                sink.timeout = .seconds(1)
                sink.killGrace = .milliseconds(200)
                sink.clock = fixture.clock
                let error = try await deliverTimingOut(
                    sink, try await fixture.storedEvents(), on: fixture.clock, ready: ready)
                #expect(
                    error as? SinkError
                        == .transient(
                            reason: "/bin/sh did not finish within 1.0 seconds and was killed: got TERM",
                            retryAfter: nil))
                let stderr = fixture.logs.entries.filter { $0.message.description == "Command sink wrote to stderr" }
                #expect(stderr.map { $0.metadata["command.stderr"]?.description } == ["got TERM"])
            }
        }

        @Test func programStartsWithNoSignalBlockedOrIgnored() async throws {
            // The daemon's threads block most signals (Swift's pool runs on libdispatch workers),
            // ServiceLifecycle traps SIGTERM and SIGHUP, and the command sink ignores SIGPIPE: the
            // program inherits none of it, or a timeout's SIGTERM would not reach it.
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                try await sink(fixture, ["/bin/sh", "-c", "exec grep -E '^Sig(Blk|Ign):' /proc/self/status >&2"])
                    .deliver(try await fixture.storedEvents())
                var masks: [String: UInt64] = [:]
                for line in fixture.logs.entries.compactMap({ $0.metadata["command.stderr"]?.description }) {
                    let field = line.split(separator: ":")
                    masks[String(field[0])] = UInt64(field[1].trimmingCharacters(in: .whitespaces), radix: 16)
                }
                #expect(masks["SigBlk"] == 0)
                // glibc's posix_spawn leaves its two internal signals (32 and 33) ignored; none of
                // the ordinary ones (bit n - 1 for signal n) may be.
                let ordinary: UInt64 = (1 << 31) - 1
                #expect(masks["SigIgn"].map { $0 & ordinary } == 0)
            }
        }

        @Test func stderrIsLoggedLineByLine() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                // CRLF and LF end a line, empty lines are skipped, an unfinished last line counts.
                try await sink(
                    fixture, ["/bin/sh", "-c", #"cat >/dev/null; printf 'one\r\n\ntwo\vstill two\nlast' >&2"#]
                )
                .deliver(try await fixture.storedEvents())
                let lines = fixture.logs.entries.compactMap { $0.metadata["command.stderr"]?.description }
                #expect(lines == ["one", "two\u{0B}still two", "last"])
            }
        }

        @Test func grandchildKeepingStderrOpenDoesNotHoldTheBatch() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                let pidFile = fixture.path("grandchild.pid")
                let started = ContinuousClock.now
                try await sink(fixture, ["/bin/sh", "-c", #"sleep 60 & echo $! > "$0"; exit 0"#, pidFile])
                    .deliver(try await fixture.storedEvents())
                #expect(ContinuousClock.now - started < .seconds(30))
                if let pid = Int32(
                    try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                ) {
                    kill(pid, SIGKILL)
                }
            }
        }

        @Test func exitStatus65DeadLettersTheEventWhenTheSinkSetsThemAside() async throws {
            try await withSinkFixture { fixture in
                let ids = try await fixture.storeEvents(6)
                let out = fixture.path("accepted.jsonl")
                // Rejects any batch holding ids[2]; the loop splits the batch down to that event.
                let script =
                    #"in=$(cat); case "$in" in *"\"$1\""*) echo 'unknown contact' >&2; exit 65;; esac; printf '%s\n' "$in" >> "$0""#
                let configuration = SinkConfiguration(
                    name: "script",
                    kind: .command(
                        CommandSinkConfiguration(arguments: ["/bin/sh", "-c", script, out, ids[2]], timeoutSeconds: 10)),
                    batchSize: 4, deadLetter: true)
                let report = await fixture.supervisor([configuration]).drainOnce()
                #expect(report.results.first?.delivered == 5)
                #expect(report.results.first?.deadLettered == 1)
                let letters = try await fixture.database.pendingDeadLetters(for: "script")
                #expect(letters.map(\.eventID) == [ids[2]])
                #expect(letters.map(\.answer) == ["/bin/sh exited with status 65: unknown contact"])
                let accepted = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
                #expect(accepted.count == 5 && !accepted.contains { $0.contains(ids[2]) })
            }
        }

        @Test func programThatDoesNotReadItsInputDoesNotHurtTheDaemon() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(3000)
                // More than a pipe holds, to a program that exits at once: EPIPE, not SIGPIPE.
                try await sink(fixture, ["/bin/true"]).deliver(try await fixture.storedEvents())
            }
        }

        @Test func missingProgramRefusesTheSink() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                await #expect {
                    try await sink(fixture, ["np6-sync-no-such-program"]).deliver(try await fixture.storedEvents())
                } throws: { error in
                    guard case .refused(let reason) = error as? SinkError else { return false }
                    return reason.contains("no such executable")
                }
            }
        }
    }
}

/// The first line written to the FIFO at `path`, read on a thread of its own (see
/// ``onOwnThread(_:)``); at most 60 s, so that a program that never writes fails the test
/// instead of hanging it.
func firstLine(ofFIFO path: String) async throws -> String {
    try await onOwnThread {
        // Read and write: opening does not wait for the writer, `poll` does, with a bound.
        let descriptor = open(path, O_RDWR)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.last != UInt8(ascii: "\n") {
            var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 60_000) == 1, read(descriptor, &byte, 1) == 1 else {
                throw POSIXError(.ETIMEDOUT)
            }
            line.append(byte)
        }
        return String(decoding: line.dropLast(), as: UTF8.self)
    }
}
