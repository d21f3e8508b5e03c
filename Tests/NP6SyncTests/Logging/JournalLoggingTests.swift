import Foundation
import Logging
import Synchronization
import Testing

@testable import NP6Sync

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The journal as the reader of the daemon's logs: records on a real unix datagram socket, as
/// journald's `/run/systemd/journal/socket` receives them, decoded as journald decodes them.
@Suite struct JournalLoggingTests {
    @Test func aWarningReachesTheJournalAtWarningPriorityWithItsFieldsAsJournalFields() throws {
        let listener = try NotifySocketListener.bound()
        let lines = LineRecorder()
        let logger = try journalLogger(listener, lines)

        logger.warning("Poll failed", metadata: ["sink.name": "crm", "http.status": "503"])

        let record = try Self.decode(listener.receive())
        #expect(record["PRIORITY"] == "4")
        #expect(record["MESSAGE"] == #"level=warning msg="Poll failed" http.status=503 sink.name=crm"#)
        #expect(record["SINK_NAME"] == "crm")
        #expect(record["HTTP_STATUS"] == "503")
        #expect(record["SYSLOG_IDENTIFIER"] == "np6-sync")
        #expect(lines.all.isEmpty, "nothing on stderr: the journal has the record")
    }

    @Test(arguments: [
        (Logger.Level.trace, "7"), (.debug, "7"), (.info, "6"), (.notice, "5"), (.warning, "4"), (.error, "3"),
        (.critical, "2"),
    ])
    func eachLevelIsFiledUnderItsOwnPriority(level: Logger.Level, priority: String) throws {
        let listener = try NotifySocketListener.bound()
        var logger = try journalLogger(listener, LineRecorder())
        logger.logLevel = .trace

        logger.log(level: level, "Something happened")

        #expect(try Self.decode(listener.receive())["PRIORITY"] == priority)
    }

    @Test func aValueWithLineBreaksTravelsWhole() throws {
        let listener = try NotifySocketListener.bound()
        let logger = try journalLogger(listener, LineRecorder())

        logger.error("Sink failed", metadata: ["error": "first line\nsecond line", "sink.name": "crm"])

        let record = try Self.decode(listener.receive())
        #expect(record["ERROR"] == "first line\nsecond line")
        #expect(record["SINK_NAME"] == "crm", "the fields after a binary one are read too")
        #expect(record["PRIORITY"] == "3")
    }

    @Test func metadataKeysBecomeValidJournalFieldNames() {
        #expect(JournalWriter.fieldName("sink.name") == "SINK_NAME")
        #expect(JournalWriter.fieldName("contact.value") == "CONTACT_VALUE")
        #expect(JournalWriter.fieldName("clock.skew_seconds") == "CLOCK_SKEW_SECONDS")
        #expect(JournalWriter.fieldName("polls.per_interval.max") == "POLLS_PER_INTERVAL_MAX")
        // Not the journal's own fields, never a leading digit or underscore (trusted fields).
        #expect(JournalWriter.fieldName("message") == "NP6_MESSAGE")
        #expect(JournalWriter.fieldName("priority") == "NP6_PRIORITY")
        #expect(JournalWriter.fieldName("2fa") == "NP6_2FA")
        #expect(JournalWriter.fieldName("_pid") == "NP6__PID")
        #expect(JournalWriter.fieldName(String(repeating: "k", count: 100)).count == 64)
        #expect(JournalWriter.fieldName("ключ.é") == "NP6_" + String(repeating: "_", count: 6))
    }

    @Test func aRecordTheJournalRefusesGoesToStderrWithItsPriorityPrefix() throws {
        var listener: NotifySocketListener? = try NotifySocketListener.bound()
        let lines = LineRecorder()
        let logger = try journalLogger(listener!, lines)
        listener = nil  // journald gone: the socket closed and its file removed

        logger.warning("Poll failed", metadata: ["sink.name": "crm"])
        logger.info("Cycle finished")

        #expect(
            lines.all == [#"<4>level=warning msg="Poll failed" sink.name=crm"#, #"<6>level=info msg="Cycle finished""#])
    }

    @Test func stderrIsTheJournalOnlyWhenItIsTheStreamJournalStreamNames() throws {
        let listener = try NotifySocketListener.bound()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("np6-stream-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: file) }
        let descriptor = open(file.path, O_WRONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var status = stat()
        try #require(fstat(descriptor, &status) == 0)
        let stream = "\(status.st_dev):\(status.st_ino)"

        let journal = LogDestination.detect(
            environment: ["JOURNAL_STREAM": stream], standardError: descriptor, journalSocket: listener.notifySocket)
        #expect(journal.journal?.socketPath == listener.notifySocket)
        #expect(!journal.timestamps)
        #expect(journal.priorityPrefix)

        let noSocket = LogDestination.detect(
            environment: ["JOURNAL_STREAM": stream], standardError: descriptor, journalSocket: file.path + ".none")
        #expect(noSocket.journal == nil, "no native socket: the `<N>` prefix on the stream")
        #expect(noSocket.priorityPrefix && !noSocket.timestamps)

        // Inherited from a parent whose stderr was the journal, but ours is another file.
        for other in ["\(status.st_dev):\(status.st_ino + 1)", "", "garbage", "1:2:3"] {
            let plain = LogDestination.detect(
                environment: ["JOURNAL_STREAM": other], standardError: descriptor,
                journalSocket: listener.notifySocket)
            #expect(plain.journal == nil && !plain.priorityPrefix && plain.timestamps, "JOURNAL_STREAM=\(other)")
        }
        let unset = LogDestination.detect(environment: [:], standardError: descriptor)
        #expect(unset.journal == nil && !unset.priorityPrefix && unset.timestamps)
    }

    // MARK: - Helpers

    private func journalLogger(_ listener: NotifySocketListener, _ lines: LineRecorder) throws -> Logger {
        let destination = LogDestination(
            timestamps: false, priorityPrefix: true, journal: try JournalWriter(socketPath: listener.notifySocket))
        return Logger(label: "np6-sync") { label in
            LineLogHandler(
                label: label, level: LogLevelControl(.info), format: .logfmt, destination: destination,
                write: { lines.append($0) })
        }
    }

    /// journald's reading of a native datagram: `NAME=value` lines, or `NAME`, a 64-bit
    /// little-endian length, the value and a line break.
    static func decode(_ datagram: String) throws -> [String: String] {
        var bytes = ArraySlice(Array(datagram.utf8))
        var fields: [String: String] = [:]
        while !bytes.isEmpty {
            let end = try #require(bytes.firstIndex { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") })
            let name = String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
            if bytes[end] == UInt8(ascii: "=") {
                let lineEnd = try #require(bytes[end...].firstIndex(of: UInt8(ascii: "\n")))
                fields[name] = String(decoding: bytes[(end + 1)..<lineEnd], as: UTF8.self)
                bytes = bytes[(lineEnd + 1)...]
            } else {
                let lengthBytes = bytes[(end + 1)..<(end + 9)]
                let length = lengthBytes.reversed().reduce(0) { $0 << 8 | Int($1) }
                let valueStart = end + 9
                fields[name] = String(decoding: bytes[valueStart..<(valueStart + length)], as: UTF8.self)
                #expect(bytes[valueStart + length] == UInt8(ascii: "\n"))
                bytes = bytes[(valueStart + length + 1)...]
            }
        }
        return fields
    }
}

/// The lines a handler wrote to its stream instead of the journal.
private final class LineRecorder: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
