import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the binary shows once shipped: its version and commit, and its log lines' priorities
/// when journald reads its stderr. Part of the suite of the binary's tests.
extension SyncEndToEndTests {
    @Test func versionNamesTheCommitItWasBuiltFrom() async throws {
        let result = try await Binary.run(["--version"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let line = result.stdout.trimmingCharacters(in: .newlines)
        // scripts/build-deb passes the commit; other builds say "unknown".
        #expect(line.wholeMatch(of: /\d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)/) != nil, "\(line)")
    }

    /// Without journald's native socket (none on a build machine), a stderr that is the stream
    /// `JOURNAL_STREAM` names gets each line with its `<N>` priority and without a timestamp;
    /// another stderr gets plain lines with their timestamps.
    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/run/systemd/journal/socket")))
    func underJournaldEachLineCarriesItsPriority() async throws {
        let directory = try TemporaryDirectory()
        let config = directory.file(
            "config.json",
            contents: """
                {"api": {"baseURL": "http://127.0.0.1:1", "maxAttempts": 1},
                 "database": {"path": "\(directory.path("db.sqlite"))"}, "contacts": [{"id": "000R4M0T"}]}
                """)

        let journal = try runSync(config: config, directory: directory, stderrIsJournalStream: true)
        let plain = try runSync(config: config, directory: directory, stderrIsJournalStream: false)

        #expect(journal.status == 1 && plain.status == 1, "a contact failed: \(journal.stderr)")
        let failed = try #require(journal.stderr.split(separator: "\n").first { $0.contains(#"msg="Poll failed""#) })
        #expect(failed.hasPrefix("<4>level=warning "), "\(failed)")
        let lines = journal.stderr.split(separator: "\n")
        #expect(lines.allSatisfy { $0.wholeMatch(of: /<[0-7]>.*/) != nil }, "every line: \(journal.stderr)")
        #expect(!lines.contains { $0.dropFirst(3).hasPrefix("ts=") }, "the journal stamps the lines itself")
        #expect(plain.stderr.split(separator: "\n").contains { $0.hasPrefix("ts=") && $0.contains("level=warning") })
        #expect(!plain.stderr.contains("<4>"), "\(plain.stderr)")
    }

    /// Runs `sync` with stderr in a file; `JOURNAL_STREAM` names that file (or a file it is not).
    private func runSync(
        config: String, directory: TemporaryDirectory, stderrIsJournalStream: Bool
    ) throws -> (status: Int32, stderr: String) {
        let path = directory.path("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var status = stat()
        try #require(fstat(handle.fileDescriptor, &status) == 0)
        let inode = stderrIsJournalStream ? UInt64(status.st_ino) : UInt64(status.st_ino) + 1
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = ["sync", "--config", config]
        process.environment = Binary.baseEnvironment.merging(
            ["NP6_API_KEY": "journal-test-key", "JOURNAL_STREAM": "\(status.st_dev):\(inode)"]) { $1 }
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, try String(contentsOfFile: path, encoding: .utf8))
    }
}
