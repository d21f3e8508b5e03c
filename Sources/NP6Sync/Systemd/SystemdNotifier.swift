import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells systemd how the service is doing: the `sd_notify(3)` protocol spoken directly on an
/// `AF_UNIX` datagram socket, without libsystemd.
///
/// ```swift
/// if let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment) {
///     try notifier.ready()
///     try notifier.status("1200 contacts, 3 due, 0 failing, 17 events today")
/// }
/// ```
///
/// Every message opens its own socket, as `sd_notify` does: nothing is held open between
/// messages, and a value can be shared freely across tasks. A failed send throws; the caller logs
/// it and carries on, since systemd being unreachable must never stop the sync.
public struct SystemdNotifier: Sendable {
    /// Where the messages go, decoded from `NOTIFY_SOCKET`.
    public enum Address: Sendable, Hashable {
        /// A socket file, `NOTIFY_SOCKET=/run/systemd/notify`.
        case path(String)
        /// A Linux abstract socket, `NOTIFY_SOCKET=@name` (the name without the `@`).
        case abstract(String)
    }

    /// The socket systemd listens on.
    public let address: Address

    /// How often to call ``watchdog()``: half of `WATCHDOG_USEC`, as `sd_watchdog_enabled(3)`
    /// advises, or `nil` when the watchdog is off or meant for another process (`WATCHDOG_PID`).
    public let watchdogInterval: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`.
    ///
    /// - Returns: `nil` when `NOTIFY_SOCKET` is unset or empty (not started by systemd, or not
    ///   `Type=notify`), or names something other than a socket path or an abstract socket
    ///   (`vsock:` addresses are not supported).
    public init?(environment: [String: String]) {
        guard let socket = environment["NOTIFY_SOCKET"], let address = Self.address(socket) else { return nil }
        self.init(address: address, watchdogInterval: Self.watchdogInterval(environment))
    }

    /// A notifier for an explicit address, for tests and for callers that read the environment themselves.
    public init(address: Address, watchdogInterval: Duration? = nil) {
        self.address = address
        self.watchdogInterval = watchdogInterval
    }

    /// `READY=1`: startup is done (send it once the database is open), or a reload is.
    public func ready() throws {
        try send("READY=1")
    }

    /// `STATUS=…`: one line shown by `systemctl status`. Line breaks are replaced by spaces.
    public func status(_ line: String) throws {
        try send("STATUS=" + Self.singleLine(line))
    }

    /// `WATCHDOG=1`: the service is alive. Call it every ``watchdogInterval`` from the loop
    /// whose progress proves health (the scheduler), not from a timer of its own.
    public func watchdog() throws {
        try send("WATCHDOG=1")
    }

    /// `STOPPING=1`: shutdown has begun.
    public func stopping() throws {
        try send("STOPPING=1")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=`, which systemd 253 and later expect so that they can
    /// tell this reload from an earlier one. Send ``ready()`` when the reload is done, or failed
    /// and the old configuration is kept.
    public func reloading() throws {
        try send("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    /// Sends one raw message: newline-separated `KEY=VALUE` assignments, as `sd_notify(3)` takes them.
    ///
    /// - Throws: ``SystemdNotifierError`` when the socket cannot be created or the datagram is refused.
    public func send(_ message: String) throws {
        let descriptor = socket(AF_UNIX, Self.datagramSocketType, 0)
        guard descriptor >= 0 else { throw SystemdNotifierError.socket(errno: errno) }
        defer { close(descriptor) }

        var storage = sockaddr_un()
        let length = try fill(&storage)
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    sendto(descriptor, buffer.baseAddress, buffer.count, Self.noSignal, socketAddress, length)
                }
            }
        }
        guard sent >= 0 else { throw SystemdNotifierError.send(address: address, errno: errno) }
        guard sent == bytes.count else { throw SystemdNotifierError.truncated(address: address) }
    }
}

// MARK: - Addresses and the environment

extension SystemdNotifier {
    static func address(_ text: String) -> Address? {
        if text.hasPrefix("/") { return .path(text) }
        if text.hasPrefix("@"), text.count > 1 { return .abstract(String(text.dropFirst())) }
        return nil
    }

    static func watchdogInterval(_ environment: [String: String]) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 else {
            return nil
        }
        // Set by systemd for the main process; a child that inherited it must not answer for it.
        if let pid = environment["WATCHDOG_PID"], Int32(pid) != getpid() { return nil }
        return .microseconds(microseconds) / 2
    }

    /// Writes the address into `storage` and returns the length to pass to `sendto`: for an
    /// abstract socket, the leading NUL and the name only, since every byte counts as the name.
    private func fill(_ storage: inout sockaddr_un) throws -> socklen_t {
        storage.sun_family = sa_family_t(AF_UNIX)
        let path: [UInt8]
        switch address {
        case .path(let text): path = Array(text.utf8) + [0]
        case .abstract(let name): path = [0] + Array(name.utf8)
        }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard path.count <= capacity else { throw SystemdNotifierError.addressTooLong(address) }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: path)
        }
        return socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count)
    }

    static func singleLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    /// CLOCK_MONOTONIC in µs, as systemd reads MONOTONIC_USEC (Foundation reads that clock on Linux).
    static func monotonicMicroseconds() -> Int64 {
        Int64(ProcessInfo.processInfo.systemUptime * 1_000_000)
    }

    #if canImport(Darwin)
    private static let datagramSocketType = SOCK_DGRAM
    private static let noSignal: Int32 = MSG_DONTWAIT
    #else
    private static let datagramSocketType = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    /// Never blocks: a reader that falls behind fills its queue (10 datagrams by default), and a
    /// blocking send would then stall the daemon, its shutdown included. The message is refused
    /// (EAGAIN) and the caller logs it instead.
    private static let noSignal = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
    #endif
}
