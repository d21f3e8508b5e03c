import Config
import Foundation
import NP6Model
import SQLiteStore
import SyncStore
import Testing

@testable import Sinks

/// Whether `python3` can import the `standardwebhooks` package (CI installs it: `.ci/run`).
private let standardWebhooksLibraryIsInstalled: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import standardwebhooks"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

/// `scripts/standard-webhooks-receiver`, found from this file's place in the repository.
private let receiverScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("scripts/standard-webhooks-receiver").path

extension SinkTests {
    /// `"signature": "standard"`: requests that a Standard Webhooks library verifies.
    @Suite(.timeLimit(.minutes(5))) struct StandardWebhooksTests {
        @Test func signatureMatchesTheSpecificationsExample() throws {
            // The example of the Standard Webhooks reference libraries' tests.
            let secret = Secret(unredactedValue: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            let key = try #require(secret.standardWebhooksKey)
            #expect(
                WebhookSink.standardSignature(
                    id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                    body: Array(#"{"test": 2432232314}"#.utf8), key: key)
                    == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
            // The prefix is optional and padding too, as in the libraries; anything else is refused.
            #expect(Secret(unredactedValue: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").standardWebhooksKey == key)
            #expect(Secret(unredactedValue: "whsec_AQID").standardWebhooksKey == [1, 2, 3])
            #expect(Secret(unredactedValue: "whsec_AQI=").standardWebhooksKey == [1, 2])
            #expect(Secret(unredactedValue: "whsec_AQI").standardWebhooksKey == [1, 2])
            for bad in ["whsec_", "whsec_not base64!", "s3cr3t-for-hmac", "whsec_A"] {
                #expect(Secret(unredactedValue: bad).standardWebhooksKey == nil, "\(bad)")
            }
        }

        /// End to end: the sink's loop POSTs to a Python receiver that verifies each request with
        /// the `standardwebhooks` package from PyPI; a wrong secret is refused by it.
        @Test(
            .enabled(
                if: standardWebhooksLibraryIsInstalled || ProcessInfo.processInfo.environment["CI"] != nil,
                "needs python3 with the standardwebhooks package: pip install standardwebhooks (CI installs it)"))
        func pythonStandardWebhooksLibraryVerifiesTheRequests() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(5)
                let databaseID = try await fixture.database.databaseID()
                let secretFile = fixture.path("receiver-secret")
                let records = fixture.path("records.jsonl")
                let key = (0..<32).map { _ in UInt8.random(in: 0...255) }
                try ("whsec_" + Data(key).base64EncodedString() + "\n").write(
                    toFile: secretFile, atomically: true, encoding: .utf8)
                let wrongSecretFile = fixture.path("wrong-secret")
                try ("whsec_" + Data(key.reversed()).base64EncodedString()).write(
                    toFile: wrongSecretFile, atomically: true, encoding: .utf8)

                try await withPythonReceiver(secretFile: secretFile, records: records) { url in
                    let sinks = [
                        SinkConfiguration(
                            name: "crm",
                            kind: .webhook(
                                WebhookSinkConfiguration(url: url, secretFile: secretFile, signature: .standard)),
                            batchSize: 3),
                        SinkConfiguration(
                            name: "forged",
                            kind: .webhook(
                                WebhookSinkConfiguration(url: url, secretFile: wrongSecretFile, signature: .standard)),
                            batchSize: 5),
                    ]
                    let report = await SinkSupervisor(
                        database: fixture.database, sinks: sinks, logger: fixture.logger,
                        policy: SinkFixture.fastPolicy
                    ).drainOnce()
                    let byName = Dictionary(uniqueKeysWithValues: report.results.map { ($0.sink, $0) })
                    #expect(byName["crm"]?.error == nil)
                    #expect(byName["crm"]?.delivered == 5)
                    #expect(byName["forged"]?.stopped == true, "the receiver refused it: 401")
                }
                let lines = try String(contentsOfFile: records, encoding: .utf8).split(separator: "\n")
                let entries = try lines.map {
                    try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                }
                let verified = entries.filter { $0["verified"] as? Bool == true }
                #expect(verified.flatMap { ($0["seqs"] as? [Int]) ?? [] } == [1, 2, 3, 4, 5])
                #expect(
                    verified.map { ($0["id"] as? String).map(IdempotencyKeyTests.withoutDigest) }
                        == ["\(databaseID):crm:1:1-3", "\(databaseID):crm:1:4-5"], "webhook-id is the idempotency key")
                #expect(verified.allSatisfy { $0["id"] as? String == $0["idempotencyKey"] as? String })
                let refused = entries.filter { $0["verified"] as? Bool == false }
                #expect(refused.count == 1)
                #expect(refused.first?["error"] as? String == "No matching signature found")
            }
        }
    }
}

/// Runs `scripts/standard-webhooks-receiver` on a free loopback port for the duration of `body`,
/// which gets its URL.
private func withPythonReceiver<T>(
    secretFile: String, records: String, _ body: (String) async throws -> T
) async throws -> T {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", receiverScript, secretFile, records]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    defer {
        // SIGKILL: the child inherited the spawning thread's signal mask, which may block SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    // The first line is the port. Read off the concurrency pool: the read blocks.
    let firstLine = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            var bytes: [UInt8] = []
            while !bytes.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                bytes += chunk
            }
            continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
        }
    }
    let port = try #require(Int(firstLine.trimmingCharacters(in: .whitespacesAndNewlines)), "the receiver started")
    return try await body("http://127.0.0.1:\(port)/hook")
}
