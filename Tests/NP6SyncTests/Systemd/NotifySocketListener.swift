import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What systemd does for `Type=notify`: a unix datagram socket bound to a path or an abstract
/// name, read one message at a time. Receives time out after 5 s so a missing message fails the
/// test instead of hanging it.
final class NotifySocketListener: Sendable {
    /// The value to put in `NOTIFY_SOCKET`.
    let notifySocket: String
    private let descriptor: Int32
    private let directory: URL?

    /// Binds a socket file in a new temporary directory.
    static func bound() throws -> NotifySocketListener {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("np6-notify-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("notify").path
        return try NotifySocketListener(name: Array(path.utf8) + [0], notifySocket: path, directory: directory)
    }

    /// Binds a Linux abstract socket with a unique name.
    static func boundAbstract() throws -> NotifySocketListener {
        let name = "np6-sync-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        return try NotifySocketListener(name: [0] + Array(name.utf8), notifySocket: "@" + name, directory: nil)
    }

    private init(name: [UInt8], notifySocket: String, directory: URL?) throws {
        self.notifySocket = notifySocket
        self.directory = directory
        #if canImport(Darwin)
        descriptor = socket(AF_UNIX, SOCK_DGRAM, 0)
        #else
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #endif
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + name.count)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard result == 0 else {
            close(descriptor)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }

    deinit {
        close(descriptor)
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// The next datagram, as text; throws `EAGAIN` after 5 s without one.
    func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    /// The next datagram, as text, waited for on a thread of its own: for a sender that runs in
    /// this process (a daemon under test), which needs the concurrency pool's threads to send
    /// it. A blocking receive (5 s at a time, until `timeout`): it returns as the datagram
    /// arrives. Throws `EAGAIN` after `timeout` without one.
    func next(timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        return try await onOwnThread { [self] in
            while true {
                do {
                    return try receive()
                } catch let error as POSIXError where error.code == .EAGAIN && ContinuousClock.now < deadline {
                    continue
                }
            }
        }
    }
}
