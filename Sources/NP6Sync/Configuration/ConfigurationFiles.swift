#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File access for configuration loading: whole-file reads with the system's reason on failure, and
/// lexical path resolution (no symlinks followed, nothing touched on disk).
enum ConfigurationFiles {
    /// Why a file could not be read, from `errno` (e.g. "No such file or directory").
    struct ReadError: Error {
        /// The `errno` value, 0 when the file was read but refused (too large).
        var code: Int32
        var reason: String
    }

    /// Reads a whole file; `"-"` reads standard input.
    ///
    /// - Parameter limit: the largest size accepted, to catch a secret path pointing at the wrong file.
    static func contents(atPath path: String, limit: Int = .max) throws(ReadError) -> [UInt8] {
        let fd: Int32
        if path == "-" {
            fd = STDIN_FILENO
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ReadError(code: errno, reason: systemReason(errno)) }
        }
        defer { if fd != STDIN_FILENO { close(fd) } }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw ReadError(code: errno, reason: systemReason(errno))
            }
            bytes.append(contentsOf: chunk[..<count])
            if bytes.count > limit {
                throw ReadError(code: 0, reason: "larger than \(limit / 1024) KiB; is it the right file?")
            }
        }
    }

    /// Whether nothing exists at `path` (a file that exists but cannot be read is not missing).
    static func isMissing(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) != 0 && errno == ENOENT
    }

    /// The process's working directory, `/` if it cannot be determined.
    static func currentDirectory() -> String {
        guard let buffer = getcwd(nil, 0) else { return "/" }
        defer { free(buffer) }
        return String(cString: buffer)
    }

    /// `path` made absolute against `base`, with `.` and `..` components removed.
    static func resolve(_ path: String, against base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        var components: [Substring] = []
        for component in joined.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// The directory holding `path`, which must be absolute.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private static func systemReason(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
