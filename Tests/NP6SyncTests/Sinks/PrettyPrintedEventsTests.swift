import AsyncHTTPClient
import Config
import Foundation
import NIOCore
import NIOHTTP1
import NP6Fake
import NP6Model
import Sinks
import SyncStore
import Synchronization
import Testing

@testable import NP6Sync

extension SinkTests {
    /// NP6 may pretty-print its events: each record still goes out on one line, and the database
    /// keeps the API's bytes.
    @Suite(.timeLimit(.minutes(5))) struct PrettyPrintedEventsTests {
        @Test func everyLineParsesAndTheDatabaseKeepsTheAPIsBytes() async throws {
            var fake = FakeNP6Configuration(contactCount: 6, eventsPerContact: 2...5)
            fake.knobs.prettyBodyRate = 1
            try await withSyncFixture(fake: fake) { fixture in
                let contacts = await fixture.api.state.contacts
                try await fixture.addFakeContacts(kind: { _ in .id })
                let report = try await fixture.pass().run(logger: fixture.logger)
                #expect(report.failures.isEmpty)

                // What the API sent, as an operator would see it with curl.
                var bodies: [String] = []
                for contact in contacts {
                    var request = HTTPClientRequest(
                        url: "\(fixture.api.baseURL)/targets/events/responses/stop?id=\(contact.id)&sort=asc")
                    request.headers.add(name: "X-Key", value: fake.apiKey)
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    #expect(response.status == .ok)
                    bodies.append(String(buffer: try await response.body.collect(upTo: 1 << 24)))
                }
                let collected = Mutex<[StoredEvent]>([])
                try await fixture.database.forEachEvent { event in collected.withLock { $0.append(event) } }
                let events = collected.withLock { $0 }
                let published = await fixture.fakeEventIDs()
                #expect(events.count == published.count)
                #expect(!events.isEmpty)
                for event in events {
                    #expect(event.payload.contains("\n  "), "the API pretty-printed it")
                    #expect(bodies.contains { $0.contains(event.payload) }, "stored byte for byte: \(event.id)")
                }

                let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "np6-pretty-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                let archive = directory.appendingPathComponent("archive.jsonl").path
                let piped = directory.appendingPathComponent("piped.jsonl").path
                let sinks = [
                    SinkConfiguration(
                        name: "archive", kind: .jsonl(JSONLSinkConfiguration(destination: .file(archive))),
                        batchSize: 4),
                    SinkConfiguration(
                        name: "script",
                        kind: .command(CommandSinkConfiguration(arguments: ["/bin/sh", "-c", #"cat >> "$0""#, piped])),
                        batchSize: 4),
                ]
                let drained = await SinkSupervisor(
                    database: fixture.database, sinks: sinks, logger: fixture.logger, policy: SinkFixture.fastPolicy
                ).drainOnce()
                #expect(drained.results.allSatisfy { $0.error == nil })

                let byID = Dictionary(uniqueKeysWithValues: events.map { ($0.id, $0) })
                for path in [archive, piped] {
                    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                    #expect(lines.count == events.count, "one line per record in \(path)")
                    for line in lines {
                        let record = try #require(
                            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                            "the line parses: \(line)")
                        let event = try #require(record["event"] as? [String: Any])
                        let id = try #require(event["id"] as? String)
                        let stored = try #require(byID[id])
                        // The same event as stored: the minified record parses to the same document.
                        let original = try JSONSerialization.jsonObject(with: Data(stored.payload.utf8))
                        #expect(NSDictionary(dictionary: event).isEqual(original))
                    }
                }
            }
        }
    }
}
