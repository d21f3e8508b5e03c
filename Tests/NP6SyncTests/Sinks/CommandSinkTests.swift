import Foundation
import InMemoryLogging
import Logging
import Logging
import SyncStore
import Testing

@testable import NP6Sync

extension SinkTests {
    @Suite(.timeLimit(.minutes(5))) struct CommandSinkTests {
        func sink(_ fixture: SinkFixture, _ arguments: [String], timeoutSeconds: Int = 10) -> CommandSink {
            CommandSink(
                name: "script", configuration: CommandSinkConfiguration(arguments: arguments, timeoutSeconds: timeoutSeconds),
                logger: fixture.supervisor([]).sinkLogger(SinkConfiguration(
                    name: "script", kind: .command(CommandSinkConfiguration(arguments: arguments)))))
        }

        @Test func recordsArriveOnStandardInputAsJSONLines() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(4)
                let events = try fixture.storedEvents()
                let out = fixture.path("stdin-copy")
                // A program found in PATH, arguments passed as they are: no shell splits "$0".
                try await sink(fixture, ["sh", "-c", #"cat > "$0""#, out]).deliver(events)
                #expect(try String(contentsOfFile: out, encoding: .utf8) == String(decoding: events.recordLines, as: UTF8.self))
            }
        }

        @Test func nonzeroExitIsTransientAndStderrIsLoggedWithTheSinkName() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                await #expect {
                    try await sink(fixture, ["/bin/sh", "-c", "cat >/dev/null; echo 'crm is down' >&2; echo 'try later' >&2; exit 3"])
                        .deliver(try fixture.storedEvents())
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
                    try await sink(fixture, ["/bin/sh", "-c", "echo 'unknown contact' >&2; exit 65"]).deliver(try fixture.storedEvents())
                } throws: { error in
                    error as? SinkError == .permanent(reason: "/bin/sh exited with status 65: unknown contact")
                }
            }
        }

        @Test func programOutlivingItsTimeoutIsKilled() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                await #expect {
                    try await sink(fixture, ["/bin/sh", "-c", "exec sleep 30"], timeoutSeconds: 1).deliver(try fixture.storedEvents())
                } throws: { error in
                    guard case .transient(let reason, _) = error as? SinkError else { return false }
                    return reason.contains("did not finish within")
                }
            }
        }

        @Test func timedOutProgramGetsSIGTERMFirst() async throws {
            // With a grace period longer than the test's patience, only SIGTERM can end it in time:
            // the child must not inherit a mask that blocks it.
            var process = ChildProcess(arguments: ["/bin/sh", "-c", "exec sleep 120"], timeout: .milliseconds(200))
            process.killGrace = .seconds(60)
            let started = ContinuousClock.now
            let outcome = try await process.run(input: []) { _ in }
            #expect(outcome.termination == .timedOut)
            #expect(ContinuousClock.now - started < .seconds(30))
        }

        @Test func programIgnoringSIGTERMIsKilledWithSIGKILL() async throws {
            var process = ChildProcess(arguments: ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], timeout: .milliseconds(200))
            process.killGrace = .milliseconds(200)
            let outcome = try await process.run(input: []) { _ in }
            #expect(outcome.termination == .timedOut)
        }

        @Test func programThatDoesNotReadItsInputDoesNotHurtTheDaemon() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(3000)
                // More than a pipe holds, to a program that exits at once: EPIPE, not SIGPIPE.
                try await sink(fixture, ["/bin/true"]).deliver(try fixture.storedEvents())
            }
        }

        @Test func missingProgramRefusesTheSink() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                await #expect {
                    try await sink(fixture, ["np6-sync-no-such-program"]).deliver(try fixture.storedEvents())
                } throws: { error in
                    guard case .refused(let reason) = error as? SinkError else { return false }
                    return reason.contains("no such executable")
                }
            }
        }
    }
}
