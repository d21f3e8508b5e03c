import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The lock that lets one daemon at a time run on a SQLite file: an exclusive `flock` on the
/// file `DATABASE.lock` beside it, held for as long as the value lives. The kernel gives it up
/// when the process ends, however it ends (SIGKILL included), so it never needs cleaning up.
///
/// Only `np6-sync run` takes it: the read-only commands (`status`, `events`, `sinks status`) and
/// the ones that write a row (`contacts add`, `sinks replay`) keep working beside the daemon.
///
/// ```swift
/// let lock = try DaemonFileLock.acquire(besideDatabaseAt: "/var/lib/np6-sync/np6-sync.sqlite")
/// defer { withExtendedLifetime(lock) {} }
/// ```
public final class DaemonFileLock: Sendable {
    /// `DATABASE.lock`.
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Takes the lock beside the database at `databasePath`, writing this process's id into it.
    /// - Throws: `DaemonFileLockError.heldByAnotherProcess` when another daemon holds it,
    ///   `.cannotOpen` when the lock file cannot be created or opened.
    public static func acquire(besideDatabaseAt databasePath: String) throws(DaemonFileLockError) -> DaemonFileLock {
        let path = databasePath + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .cannotOpen(lockPath: path, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.recordedProcessID(descriptor)
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw .cannotOpen(lockPath: path, reason: String(cString: strerror(reason)))
            }
            throw .heldByAnotherProcess(databasePath: databasePath, lockPath: path, processID: holder)
        }
        // For the message another daemon prints; the lock itself is the flock, not this text.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(descriptor, 0) == 0 {
            _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
        return DaemonFileLock(path: path, descriptor: descriptor)
    }

    /// The process id the holder wrote into the lock file, if it did.
    private static func recordedProcessID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Why ``DaemonFileLock/acquire(besideDatabaseAt:)`` failed.
public enum DaemonFileLockError: Error, CustomStringConvertible, Equatable {
    /// Another daemon runs on the same database: two would poll every contact and deliver every
    /// event twice.
    case heldByAnotherProcess(databasePath: String, lockPath: String, processID: Int32?)
    case cannotOpen(lockPath: String, reason: String)

    public var description: String {
        switch self {
        case .heldByAnotherProcess(let databasePath, let lockPath, let processID):
            let holder = processID.map { "another np6-sync daemon (pid \($0))" } ?? "another np6-sync daemon"
            return "\(holder) is already running on \(databasePath) (it holds \(lockPath)); one daemon per "
                + "SQLite file: stop the other one first, or share a PostgreSQL database (database.url) to run several"
        case .cannotOpen(let lockPath, let reason):
            return "cannot take the daemon's lock \(lockPath): \(reason)"
        }
    }
}
