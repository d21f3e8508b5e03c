import Foundation
import Testing

/// What the binary shows once shipped: its version and the commit it was built from. Part of the
/// suite of the binary's tests.
extension SyncEndToEndTests {
    @Test func versionNamesTheCommitItWasBuiltFrom() async throws {
        let result = try await Binary.run(["--version"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let line = result.stdout.trimmingCharacters(in: .newlines)
        // scripts/build-deb passes the commit; other builds say "unknown".
        #expect(line.wholeMatch(of: /\d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)/) != nil, "\(line)")
    }
}
