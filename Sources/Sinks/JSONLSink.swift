import Config
import Foundation
import NP6Model
import SyncStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `"type": "jsonl"`: appends each record as one line to a file (or writes it to standard
/// output), and syncs the file to disk before acknowledging the batch.
///
/// The file is opened for each batch, so a log rotation that moves it away is followed by a new
/// file. It is created readable by its owner only: stop events are personal data. A line cut by
/// a crash is ended before the next batch is appended, so every complete record stays one line.
public struct JSONLSink: EventSink {
    public let name: String
    public let destination: JSONLSinkConfiguration.Destination

    public init(name: String, configuration: JSONLSinkConfiguration) {
        self.name = name
        self.destination = configuration.destination
    }

    public func deliver(_ batch: [StoredEvent]) async throws {
        let lines = batch.recordLines
        let destination = destination
        try await BlockingIO.run {
            switch destination {
            case .standardOutput: try Self.writeToStandardOutput(lines)
            case .file(let path): try Self.append(lines, toFileAt: path)
            }
        }
    }

    private static func writeToStandardOutput(_ lines: [UInt8]) throws(SinkError) {
        // Whatever the process printed through stdio goes first.
        fflush(nil)
        let error = BlockingIO.writeAll(lines, to: STDOUT_FILENO)
        guard error == 0 else {
            throw .transient(reason: "cannot write to standard output: \(describe(error))", retryAfter: nil)
        }
    }

    private static func append(_ lines: [UInt8], toFileAt path: String) throws(SinkError) {
        // Read access too: the last byte is checked for a line cut by a crash.
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .transient(reason: "cannot open \(path): \(describe(errno))", retryAfter: nil) }
        defer { close(fd) }
        var bytes = lines
        if endsInsideALine(fd) { bytes.insert(UInt8(ascii: "\n"), at: 0) }
        var error = BlockingIO.writeAll(bytes, to: fd)
        if error == 0, fsync(fd) != 0 { error = errno }
        guard error == 0 else { throw .transient(reason: "cannot write \(path): \(describe(error))", retryAfter: nil) }
    }

    /// Whether the file's last byte is not a line feed: a write cut short by a crash.
    private static func endsInsideALine(_ fd: Int32) -> Bool {
        // Writes append whatever the offset: moving it to the end only measures the file.
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return false }
        var last: UInt8 = 0
        return pread(fd, &last, 1, size - 1) == 1 && last != UInt8(ascii: "\n")
    }

    private static func describe(_ error: Int32) -> String { String(cString: strerror(error)) }
}
