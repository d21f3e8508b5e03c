import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the process's log lines go, decided once at start: to the journal with each record's
/// priority and fields, or as plain lines with their timestamps.
///
/// systemd sets `JOURNAL_STREAM` to the device and inode (`DEV:INODE`) of the stream it connects
/// to the service's stderr. When stderr is still that stream (not redirected, not inherited by
/// some other process's stderr), the journal is the reader: records go to its native socket
/// (``JournalWriter``), or, when that socket cannot be used, to stderr with the `<N>` priority
/// prefix journald reads. Otherwise lines go to stderr as they are, with a timestamp.
public struct LogDestination: Sendable {
    /// Each line starts with `ts=…`: no journal adds one.
    public var timestamps: Bool
    /// Each stderr line starts with `<N>`, its syslog priority, which journald reads and strips.
    public var priorityPrefix: Bool
    /// The journal's native socket, when it is the reader and listens.
    public var journal: JournalWriter?

    /// Plain lines with timestamps: a terminal, a file, a pipe.
    public static let plain = LogDestination(timestamps: true, priorityPrefix: false, journal: nil)

    public init(timestamps: Bool, priorityPrefix: Bool, journal: JournalWriter?) {
        self.timestamps = timestamps
        self.priorityPrefix = priorityPrefix
        self.journal = journal
    }

    /// Reads `JOURNAL_STREAM` and compares it with `standardError`'s device and inode.
    ///
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - standardError: the descriptor the lines are written to (2).
    ///   - journalSocket: journald's native socket.
    public static func detect(
        environment: [String: String], standardError: Int32 = 2,
        journalSocket: String = JournalWriter.defaultSocketPath
    ) -> LogDestination {
        guard let stream = environment["JOURNAL_STREAM"], isJournalStream(stream, descriptor: standardError) else {
            return .plain
        }
        return LogDestination(
            timestamps: false, priorityPrefix: true, journal: try? JournalWriter(socketPath: journalSocket))
    }

    /// Whether journald reads this process's stderr: messages written there before logging is
    /// bootstrapped (a configuration error) then carry their `<N>` priority too.
    public static func standardErrorIsJournal(environment: [String: String]) -> Bool {
        environment["JOURNAL_STREAM"].map { isJournalStream($0, descriptor: 2) } ?? false
    }

    /// Whether `descriptor` is the file `JOURNAL_STREAM` names (`DEV:INODE`, decimal).
    static func isJournalStream(_ value: String, descriptor: Int32) -> Bool {
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}

extension Logger.Level {
    /// The syslog priority journald files a record under (`journalctl -p`).
    public var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
