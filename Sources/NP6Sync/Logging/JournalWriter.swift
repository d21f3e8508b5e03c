import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends log records to systemd-journald in its native protocol (`sd_journal_send(3)`, without
/// libsystemd): one datagram per record on `/run/systemd/journal/socket`, each field a
/// `NAME=value` line, so that the journal keeps the record's priority and its fields.
///
/// ```swift
/// let journal = try JournalWriter()
/// try journal.send(message: "Poll failed", priority: 4, fields: [("SINK_NAME", "crm")])
/// // journalctl -p warning SINK_NAME=crm
/// ```
///
/// The socket is opened once and connected; sends from several threads are safe (one
/// `send(2)` per record). A record the socket refuses (journald gone, a record too big for one
/// datagram) throws, and the caller writes it to stderr instead.
public final class JournalWriter: Sendable {
    /// Where journald listens for native records.
    public static let defaultSocketPath = "/run/systemd/journal/socket"

    /// The socket file the records go to.
    public let socketPath: String
    private let descriptor: Int32

    /// Opens a datagram socket connected to `socketPath`.
    ///
    /// - Throws: `POSIXError` when the socket cannot be made or journald does not listen there.
    public init(socketPath: String = JournalWriter.defaultSocketPath) throws {
        self.socketPath = socketPath
        let path = Array(socketPath.utf8) + [0]
        var address = sockaddr_un()
        guard path.count <= MemoryLayout.size(ofValue: address.sun_path) else { throw POSIXError(.ENAMETOOLONG) }
        let descriptor = socket(AF_UNIX, Self.datagramSocketType, 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) }
        }
        guard connected == 0 else {
            let error = errno
            close(descriptor)
            throw POSIXError(.init(rawValue: error) ?? .EIO)
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Sends one record: `MESSAGE`, `PRIORITY` (syslog's 0-7), `SYSLOG_IDENTIFIER`, then `fields`
    /// (names as ``fieldName(_:)`` makes them).
    ///
    /// - Throws: `POSIXError` when the datagram is refused (e.g. `EMSGSIZE`, `ECONNREFUSED`).
    public func send(
        message: String, priority: Int, identifier: String = "np6-sync", fields: [(String, String)] = []
    ) throws {
        let record =
            [("MESSAGE", message), ("PRIORITY", "\(priority)"), ("SYSLOG_IDENTIFIER", identifier)] + fields
        let bytes = Self.encode(record)
        let sent = sendDatagram(descriptor, bytes, Self.noSignal)
        guard sent == bytes.count else { throw POSIXError(.init(rawValue: sent < 0 ? errno : EMSGSIZE) ?? .EIO) }
    }

    /// The native protocol's encoding: `NAME=value\n`, or for a value with a line break
    /// `NAME\n`, its length as a little-endian 64-bit integer, the value and `\n`.
    static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (name, value) in fields {
            let valueBytes = Array(value.utf8)
            bytes += Array(name.utf8)
            if valueBytes.contains(UInt8(ascii: "\n")) {
                bytes.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(valueBytes.count).littleEndian) { bytes += $0 }
            } else {
                bytes.append(UInt8(ascii: "="))
            }
            bytes += valueBytes
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// The journal field for a log metadata key: upper case, every character that is not a
    /// letter or a digit an underscore (`sink.name` → `SINK_NAME`, `http.status` → `HTTP_STATUS`).
    /// A name that would not start with a letter, or would be one of the journal's own fields
    /// (`MESSAGE`, `PRIORITY`, …), is prefixed with `NP6_`; at most 64 characters.
    public static func fieldName(_ key: String) -> String {
        var name = String(
            key.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "a"..."z": Character(String(scalar).uppercased())
                case "A"..."Z", "0"..."9": Character(scalar)
                default: "_"
                }
            })
        if name.first.map({ !$0.isLetter }) ?? true || reservedFieldNames.contains(name) { name = "NP6_" + name }
        return String(name.prefix(64))
    }

    /// Fields the journal gives a meaning of its own (systemd.journal-fields(7)).
    static let reservedFieldNames: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERRNO", "INVOCATION_ID",
        "USER_INVOCATION_ID", "SYSLOG_FACILITY", "SYSLOG_IDENTIFIER", "SYSLOG_PID", "SYSLOG_TIMESTAMP",
        "SYSLOG_RAW", "DOCUMENTATION", "TID", "UNIT", "USER_UNIT",
    ]

    #if canImport(Darwin)
    private static let datagramSocketType = SOCK_DGRAM
    private static let noSignal: Int32 = 0
    #else
    private static let datagramSocketType = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    private static let noSignal = Int32(MSG_NOSIGNAL)
    #endif
}

/// `send(2)`, out of the class whose method of the same name would shadow it.
private func sendDatagram(_ descriptor: Int32, _ bytes: [UInt8], _ flags: Int32) -> Int {
    bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, flags) }
}
