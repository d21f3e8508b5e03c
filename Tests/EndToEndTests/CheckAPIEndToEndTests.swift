import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// `np6-sync check-api`, the built binary against a `fake-api` process: its exit codes.
@Suite(.timeLimit(.minutes(10))) struct CheckAPIEndToEndTests {
    let apiKey = "check-api-key-51c9e0d7a3b2"

    @Test func exitsZeroWhenEveryAssumptionHoldsOneWhenOneDoesNotAnd78ForARefusedKey() async throws {
        try await withFakeAPIProcess(
            arguments: ["--contacts", "5", "--seed", "3", "--events-per-contact", "8-12"], apiKey: apiKey
        ) { baseURL in
            let directory = try TemporaryDirectory()
            let contacts =
                try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
                as! [[String: String]]
            let contactsFile = directory.file(
                "contacts.txt", contents: contacts.map { "id:\($0["id"]!)" }.joined(separator: "\n") + "\n")
            let config = directory.file(
                "config.json",
                contents: """
                    {"api": {"baseURL": "\(baseURL)", "requestsPerSecond": 100},
                     "database": {"path": "\(directory.path("db.sqlite"))"}, "contactsFile": "\(contactsFile)"}
                    """)
            let passing = try await Binary.run(["check-api", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(passing.status == 0, "stderr: \(passing.stderr)")
            #expect(passing.stdout.split(separator: "\n").filter { $0.hasPrefix("pass  ") }.count == 7)
            #expect(!passing.stdout.contains(apiKey) && !passing.stderr.contains(apiKey))
            #expect(!FileManager.default.fileExists(atPath: directory.path("db.sqlite")), "no database is made")

            var request = HTTPClientRequest(url: "\(baseURL)/_fake/knobs")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"endInclusive": true}"#))
            _ = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let failing = try await Binary.run(
                ["check-api", "--config", config, "--contact", "id:\(contacts[0]["id"]!)"],
                environment: ["NP6_API_KEY": apiKey])
            #expect(failing.status == 1, "stderr: \(failing.stderr)")
            #expect(failing.stdout.contains("FAIL  end is exclusive"))
            #expect(failing.stdout.contains("sync would: events stamped exactly at a window's end"))

            let refused = try await Binary.run(
                ["check-api", "--config", config], environment: ["NP6_API_KEY": "not-the-key"])
            #expect(refused.status == 78, "stderr: \(refused.stderr)")
            #expect(refused.stderr.contains("HTTP 401"))
        }
    }
}
