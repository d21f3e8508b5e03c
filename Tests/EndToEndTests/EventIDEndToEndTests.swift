import Foundation
import HTTPTestSupport
import Hummingbird
import StoreTestSupport
import Testing

/// Issue 18, point 2, as it was shown from outside: ids that differ after a U+0000 or in a lone
/// surrogate, served by an API, synced twice by the built binary into each store.
@Suite(.timeLimit(.minutes(5)))
struct EventIDEndToEndTests {
    enum Store: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
        static var enabled: [Store] { PostgresTestServer.isEnabled ? [.sqlite, .postgres] : [.sqlite] }
    }

    static let apiKey = "e2e-key-1d8f0a3c52b74e96"
    /// The issue's body: two NUL ids, two lone-surrogate ids and a plain event after them.
    static let elements = [
        #"{"id":"nul\u0000A","timestamp":1764000000001,"type":"stop"}"#,
        #"{"id":"nul\u0000B","timestamp":1764000000002,"type":"stop"}"#,
        #"{"id":"sur\ud800","timestamp":1764000000003,"type":"stop"}"#,
        #"{"id":"sur\udbff","timestamp":1764000000004,"type":"stop"}"#,
        #"{"id":"plain-5","timestamp":1764000000005,"type":"stop"}"#,
    ]

    @Test(arguments: Store.enabled)
    func idsThatDifferAfterANulOrInALoneSurrogateAreEachStoredOnceAndDelivered(_ store: Store) async throws {
        let router = Router()
        router.get("/targets/events/responses/stop") { _, _ -> Response in
            let body = "[" + Self.elements.joined(separator: ",") + "]"
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        try await withLoopbackServer(router) { port in
            let directory = try TemporaryDirectory()
            switch store {
            case .sqlite:
                try await syncTwice(
                    port: port, directory: directory, database: #"{"path": "\#(directory.path("np6.sqlite"))"}"#)
            case .postgres:
                let server = try PostgresTestServer.configured()
                let password = try #require(server.password)
                try await server.withTemporaryDatabase { endpoint in
                    let file = directory.file("db-password", contents: password + "\n")
                    try await syncTwice(
                        port: port, directory: directory,
                        database: PostgresEndToEndFixture.databaseObject(endpoint, passwordFile: file))
                }
            }
        }
    }

    private func syncTwice(port: Int, directory: TemporaryDirectory, database: String) async throws {
        let archive = directory.path("archive.jsonl")
        let config = directory.file(
            "config.json",
            contents: """
                {"api": {"baseURL": "http://127.0.0.1:\(port)", "maxAttempts": 1},
                 "database": \(database),
                 "contacts": [{"id": "000R4M0T"}],
                 "sinks": [{"name": "archive", "type": "jsonl", "path": "\(archive)"}]}
                """)
        let environment = ["NP6_API_KEY": Self.apiKey]
        let first = try await Binary.run(["sync", "--config", config], environment: environment)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.stdout.contains("5 new events"), "stdout: \(first.stdout)")
        #expect(first.stdout.contains(" 0 quarantined"), "stdout: \(first.stdout)")
        let second = try await Binary.run(["sync", "--config", config], environment: environment)
        #expect(second.status == 0, "stderr: \(second.stderr)")
        #expect(second.stdout.contains("0 new events"), "stdout: \(second.stdout)")

        // Each event reached the sink once, its JSON exactly as the API sent it.
        let archived = ((try? String(contentsOfFile: archive, encoding: .utf8)) ?? "").split(separator: "\n")
        let delivered = archived.compactMap { line in
            line.range(of: #","event":"#).map { String(line[$0.upperBound...].dropLast()) }
        }
        #expect(delivered == Self.elements)

        // The stored ids: ordinary ones as they are, the others as their JSON string literals.
        let events = try await Binary.run(["events", "--config", config, "--json"])
        #expect(events.status == 0, "stderr: \(events.stderr)")
        #expect(events.stdout.split(separator: "\n").count == 5)
        let status = try await Binary.run(["status", "--config", config, "--json"])
        #expect(status.stdout.contains(#""stored" : 5"#), "status: \(status.stdout)")
    }
}
