import Foundation
import Testing

@testable import NP6Sync

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
import Config
import Sinks
import SyncStore
import SQLiteStore
import NP6Model
#endif

@Suite struct SystemdNotifierTests {
    @Test func everyMessageArrivesOnTheNotifySocket() throws {
        let listener = try NotifySocketListener.bound()
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.notifySocket]))
        #expect(notifier.address == .path(listener.notifySocket))

        try notifier.ready()
        #expect(try listener.receive() == "READY=1")
        try notifier.status("12 contacts, 3 due,\n0 failing")
        #expect(
            try listener.receive() == "STATUS=12 contacts, 3 due, 0 failing", "one line, whatever the caller passes")
        try notifier.watchdog()
        #expect(try listener.receive() == "WATCHDOG=1")
        try notifier.stopping()
        #expect(try listener.receive() == "STOPPING=1")

        let before = SystemdNotifier.monotonicMicroseconds()
        try notifier.reloading()
        let lines = try listener.receive().split(separator: "\n")
        #expect(lines.first == "RELOADING=1")
        #expect(lines.count == 2)
        let stamp = try #require(lines.last?.split(separator: "=", maxSplits: 1))
        #expect(stamp.first == "MONOTONIC_USEC")
        let microseconds = try #require(Int64(stamp[1]))
        #expect(microseconds >= before && microseconds <= SystemdNotifier.monotonicMicroseconds())
    }

    @Test func abstractSocketReceivesMessages() throws {
        let listener = try NotifySocketListener.boundAbstract()
        #expect(listener.notifySocket.hasPrefix("@"))
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.notifySocket]))
        #expect(notifier.address == .abstract(String(listener.notifySocket.dropFirst())))
        try notifier.ready()
        try notifier.status("running")
        #expect(try listener.receive() == "READY=1")
        #expect(try listener.receive() == "STATUS=running")
    }

    @Test(arguments: [[:], ["NOTIFY_SOCKET": ""], ["NOTIFY_SOCKET": "@"], ["NOTIFY_SOCKET": "vsock:2:1234"]])
    func noNotifierWithoutAUsableNotifySocket(environment: [String: String]) {
        #expect(SystemdNotifier(environment: environment) == nil)
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsecForThisProcess() throws {
        let socket = ["NOTIFY_SOCKET": "/run/systemd/notify"]
        func interval(_ extra: [String: String]) -> Duration?? {
            SystemdNotifier(environment: socket.merging(extra) { $1 }).map(\.watchdogInterval)
        }
        #expect(interval([:]) == .some(nil))
        #expect(interval(["WATCHDOG_USEC": "120000000"]) == .seconds(60))
        #expect(interval(["WATCHDOG_USEC": "120000000", "WATCHDOG_PID": "\(getpid())"]) == .seconds(60))
        #expect(interval(["WATCHDOG_USEC": "120000000", "WATCHDOG_PID": "\(getpid() + 1)"]) == .some(nil))
        #expect(interval(["WATCHDOG_USEC": "0"]) == .some(nil))
        #expect(interval(["WATCHDOG_USEC": "soon"]) == .some(nil))
    }

    @Test func sendingToAMissingSocketThrowsAndSaysWhere() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("np6-no-such-\(UUID())").path
        let notifier = SystemdNotifier(address: .path(path))
        let error = try #require(throws: SystemdNotifierError.self) { try notifier.ready() }
        #expect(error == .send(address: .path(path), errno: ENOENT))
        #expect(error.description.contains(path))
    }

    @Test func aReaderThatFallsBehindGetsMessagesRefusedNeverABlockedDaemon() throws {
        let listener = try NotifySocketListener.bound()
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.notifySocket]))
        // Nobody reads: the socket's queue fills, and then a send fails at once instead of waiting.
        var refused: SystemdNotifierError?
        for _ in 0..<10_000 where refused == nil {
            do { try notifier.watchdog() } catch let error as SystemdNotifierError { refused = error }
        }
        #expect(refused == .send(address: notifier.address, errno: EAGAIN))
        #expect(try listener.receive() == "WATCHDOG=1")
    }

    @Test func tooLongAPathIsRefusedBeforeSending() throws {
        let path = "/" + String(repeating: "x", count: 200)
        let notifier = SystemdNotifier(address: .path(path))
        #expect(throws: SystemdNotifierError.addressTooLong(.path(path))) { try notifier.ready() }
    }
}
