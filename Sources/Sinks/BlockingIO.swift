import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs blocking system calls (write, fsync, read on a pipe) off Swift's cooperative threads,
/// which are as few as the cores and would stall every other task meanwhile.
enum BlockingIO {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// Writes all of `bytes` to `fd`, retrying partial writes and interruptions.
    ///
    /// A reader that went away (a pipe closed by a program that exited, a closed standard
    /// output) makes the write fail with EPIPE instead of raising SIGPIPE, whose default action
    /// would end the daemon: the signal is blocked on this thread meanwhile, and the one raised
    /// is consumed before the mask is restored.
    ///
    /// - Returns: `errno` of the failed write, or 0.
    static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Int32 {
        var brokenPipe = sigset_t()
        sigemptyset(&brokenPipe)
        sigaddset(&brokenPipe, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &brokenPipe, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                let error = errno
                if error == EINTR { continue }
                var pending = sigset_t()
                if error == EPIPE, sigpending(&pending) == 0, sigismember(&pending, SIGPIPE) == 1 {
                    var signal: Int32 = 0
                    sigwait(&brokenPipe, &signal)
                }
                return error
            }
            offset += written
        }
        return 0
    }
}
