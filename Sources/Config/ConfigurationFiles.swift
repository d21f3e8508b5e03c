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
        try LineReader(path: path).rest(limit: limit)
    }

    /// Reads a small file that holds one secret (the API key, a webhook secret) as UTF-8 text.
    /// Errors name `issuePath` and the file, never what it holds.
    static func secretText(
        atPath path: String, issuePath: String, holding what: String
    ) throws(ConfigurationError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try contents(atPath: path, limit: 64 * 1024)
        } catch {
            throw ConfigurationError(path: issuePath, message: "cannot read \(path): \(error.reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(path: issuePath, message: "\(path) is not UTF-8 text; it must hold \(what)")
        }
        return text
    }

    /// Reads a file (or standard input, `"-"`) 64 KiB at a time: line by line, or the rest whole.
    final class LineReader {
        private let fd: Int32
        private var buffer: [UInt8] = []
        private var start = 0
        private var atEnd = false

        init(path: String) throws(ReadError) {
            if path == "-" {
                fd = STDIN_FILENO
            } else {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw ReadError(code: errno, reason: ConfigurationFiles.systemReason(errno)) }
            }
        }

        deinit { if fd != STDIN_FILENO { close(fd) } }

        /// The next line, without its `\n`; `nil` at the end.
        func nextLine() throws(ReadError) -> ArraySlice<UInt8>? {
            while true {
                if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    defer { start = newline + 1 }
                    return buffer[start..<newline]
                }
                if atEnd {
                    guard start < buffer.count else { return nil }
                    defer { start = buffer.count }
                    return buffer[start...]
                }
                buffer.removeFirst(start)
                start = 0
                try readChunk()
            }
        }

        /// The first byte that is not blank, without consuming it; a byte-order mark is skipped.
        func firstNonBlankByte() throws(ReadError) -> UInt8? {
            while buffer.count < 3, !atEnd { try readChunk() }
            if start == 0, buffer.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
            while true {
                if let byte = buffer[start...].first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) { return byte }
                if atEnd { return nil }
                try readChunk()
            }
        }

        /// Everything not read yet.
        func rest(limit: Int = .max) throws(ReadError) -> [UInt8] {
            while !atEnd {
                try readChunk()
                if buffer.count - start > limit {
                    throw ReadError(code: 0, reason: "larger than \(limit / 1024) KiB; is it the right file?")
                }
            }
            defer { start = buffer.count }
            return Array(buffer[start...])
        }

        private func readChunk() throws(ReadError) {
            let chunkSize = 64 * 1024
            let old = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: chunkSize))
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + old, chunkSize) }
                if count < 0 {
                    if errno == EINTR { continue }
                    buffer.removeLast(chunkSize)
                    throw ReadError(code: errno, reason: ConfigurationFiles.systemReason(errno))
                }
                buffer.removeLast(chunkSize - count)
                atEnd = count == 0
                return
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
