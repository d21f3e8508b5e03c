import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestClocks
import Testing

@testable import NP6Fake

@Suite("FakeNP6ServerTests", .timeLimit(.minutes(5)))
struct FakeNP6ServerTests {
    /// Fixed history bounds, so the data does not depend on when the test runs.
    static func configuration(
        seed: UInt64 = 7,
        contacts: Int = 20,
        events: ClosedRange<Int> = 1...6
    ) -> FakeNP6Configuration {
        FakeNP6Configuration(
            seed: seed,
            contactCount: contacts,
            eventsPerContact: events,
            historyStartMs: 1_600_000_000_000,
            historyEndMs: 1_700_000_000_000
        )
    }

    static func ids(_ body: [UInt8]) throws -> [String] {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        return try array.map { try #require($0["id"] as? String) }
    }

    static func timestamps(_ body: [UInt8]) throws -> [Int64] {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        return try array.map { try #require(($0["timestamp"] as? NSNumber)?.int64Value) }
    }

    // MARK: Contacts and events

    @Test func eachContactKindFindsTheSameEvents() async throws {
        try await withFakeNP6API(configuration: Self.configuration()) { api in
            let client = FakeAPIClient(handle: api)
            for contact in await api.state.contacts.prefix(5) {
                let byID = try await client.stopEvents([("id", contact.id), ("sort", "asc")])
                let byUnicity = try await client.stopEvents([("unicity", contact.unicity), ("sort", "asc")])
                let byHash = try await client.stopEvents([("hash", contact.hash), ("sort", "asc")])
                #expect(byID.status == 200)
                #expect(byID.headers.first(name: "content-type") == "application/json")
                #expect(byID.body == byUnicity.body)
                #expect(byID.body == byHash.body)
                let expected = await api.state.events(of: contact.id)
                #expect(try Self.ids(byID.body) == expected.map(\.id))
                #expect(byID.text == "[" + expected.map(\.json).joined(separator: ",") + "]")
            }
        }
    }

    @Test func contactsHaveNP6ShapedIdentifiers() async throws {
        let contacts = await FakeNP6State(configuration: Self.configuration(contacts: 200)).contacts
        #expect(Set(contacts.map(\.id)).count == 200)
        #expect(Set(contacts.map(\.unicity)).count == 200)
        #expect(Set(contacts.map(\.hash)).count == 200)
        for contact in contacts {
            #expect(contact.id.count == 8 && contact.id.hasPrefix("000"))
            #expect(contact.id.allSatisfy { $0.isNumber || ($0.isUppercase && $0.isASCII) })
            #expect(contact.hash.count == 32 && contact.hash.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            #expect(contact.unicity.contains("@"))
        }
        #expect(contacts.contains { $0.unicity.contains("+") })
        #expect(contacts.contains { !$0.unicity.allSatisfy(\.isASCII) })
    }

    @Test func eventsLookLikeNP6StopEvents() async throws {
        let state = FakeNP6State(configuration: Self.configuration(contacts: 30, events: 3...3))
        let events = await state.allEvents()
        #expect(events.count == 90)
        var sources = Set<String>()
        for event in events {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(event.json.utf8)) as? [String: Any])
            #expect(object["type"] as? String == "stop")
            #expect(object["id"] as? String == event.id)
            #expect((object["timestamp"] as? NSNumber)?.int64Value == event.timestampMs)
            #expect((1_600_000_000_000...1_700_000_000_000).contains(event.timestampMs))
            let source = try #require(object["source"] as? [String: Any])
            sources.insert(try #require(source["type"] as? String))
            let detail = try #require(source["detail"] as? [String: Any])
            let execution = try #require(detail["execution"] as? [String: Any])
            let recipient = try #require(execution["recipient"] as? [String: Any])
            #expect(recipient["id"] as? String == event.contactID)
            #expect(UUID(uuidString: event.id) != nil)
            #expect((300...700).contains(event.json.utf8.count))
        }
        #expect(sources == ["email", "sms"])
        #expect(Set(events.map(\.id)).count == events.count)
    }

    @Test func percentEncodedUnicityRoundTrips() async throws {
        try await withFakeNP6API(configuration: Self.configuration()) { api in
            let client = FakeAPIClient(handle: api)
            let contacts = await api.state.contacts
            let tagged = try #require(contacts.first { $0.unicity.contains("+") && $0.unicity.allSatisfy(\.isASCII) })
            let accented = try #require(
                contacts.first { $0.unicity.contains("+") && !$0.unicity.allSatisfy(\.isASCII) }
            )
            for contact in [tagged, accented] {
                let response = try await client.stopEvents([("unicity", contact.unicity), ("sort", "asc")])
                #expect(response.status == 200, "\(contact.unicity)")
                #expect(try Self.ids(response.body) == (await api.state.events(of: contact.id)).map(\.id))
                let logged = await api.state.requestLog.last
                #expect(logged?.query["unicity"] == contact.unicity)
            }
            // An unencoded `+` decodes to a space, as on a form-decoding server: no such contact.
            let raw = try await client.get("/targets/events/responses/stop?unicity=\(tagged.unicity)")
            #expect(raw.status == 404)
        }
    }

    // MARK: Filters and order

    @Test func startIsInclusiveAndEndExclusiveInMillisecondsAndISO() async throws {
        try await withFakeNP6API(configuration: Self.configuration(contacts: 3, events: 0...0)) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[0]
            let t0: Int64 = 1_614_089_500_000  // 2021-02-23T14:11:40Z
            await api.state.addEvents(to: contact.id, timestamps: [t0 - 1, t0, t0 + 1000, t0 + 2000, t0 + 2001])
            let cases: [(start: String, end: String)] = [
                ("\(t0)", "\(t0 + 2000)"),
                ("2021-02-23T14:11:40Z", "2021-02-23T14:11:42Z"),
                ("2021-02-23T14:11:40.000Z", "2021-02-23T14:11:41.9999Z"),
                ("2021-02-23T15:11:40+01:00", "2021-02-23T09:11:42-0500"),
            ]
            for (start, end) in cases {
                let response = try await client.stopEvents([
                    ("id", contact.id), ("start", start), ("end", end), ("sort", "asc"),
                ])
                #expect(response.status == 200)
                let expectedLast = end.contains("9999") ? t0 + 1000 : t0 + 1000
                #expect(try Self.timestamps(response.body) == [t0, expectedLast], "start=\(start) end=\(end)")
            }
            let fromStart = try await client.stopEvents([("id", contact.id), ("start", "\(t0 + 2000)")])
            #expect(try Self.timestamps(fromStart.body).sorted() == [t0 + 2000, t0 + 2001])
            let inverted = try await client.stopEvents([
                ("id", contact.id), ("start", "\(t0 + 2000)"), ("end", "\(t0)"),
            ])
            #expect(inverted.status == 200 && inverted.text == "[]")
        }
    }

    @Test func sortOrdersByTimestampThenIDAndUnsortedDiffersBetweenRequests() async throws {
        try await withFakeNP6API(configuration: Self.configuration(contacts: 2, events: 0...0)) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[1]
            // Pairs of equal timestamps, to see ties broken by id.
            let added = await api.state.addEvents(
                to: contact.id,
                timestamps: (0..<200).map { 1_650_000_000_000 + Int64($0 / 2) * 1000 }
            )
            let expected = added.sorted { ($0.timestampMs, $0.id) < ($1.timestampMs, $1.id) }.map(\.id)
            let ascending = try await client.stopEvents([("id", contact.id), ("sort", "asc")])
            let descending = try await client.stopEvents([("id", contact.id), ("sort", "desc")])
            #expect(try Self.ids(ascending.body) == expected)
            #expect(try Self.ids(descending.body) == expected.reversed())
            let first = try Self.ids(try await client.stopEvents([("id", contact.id)]).body)
            let second = try Self.ids(try await client.stopEvents([("id", contact.id)]).body)
            #expect(first != second)
            #expect(first != expected)
            #expect(first.sorted() == expected.sorted() && second.sorted() == expected.sorted())
        }
    }

    // MARK: Errors

    @Test func badRequestsAnswer400WithAJSONError() async throws {
        try await withFakeNP6API(configuration: Self.configuration()) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[0]
            let bad: [[(String, String)]] = [
                [],
                [("start", "0")],
                [("id", contact.id), ("hash", contact.hash)],
                [("id", contact.id), ("id", contact.id)],
                [("id", "")],
                [("id", contact.id), ("start", "yesterday")],
                [("id", contact.id), ("end", "2021-02-30T00:00:00Z")],
                [("id", contact.id), ("sort", "ascending")],
            ]
            for parameters in bad {
                let response = try await client.stopEvents(parameters)
                #expect(response.status == 400, "\(parameters)")
                let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                #expect(object?["error"] as? String == "bad_request")
            }
        }
    }

    @Test func missingOrWrongKeyAnswers401BeforeAnythingElse() async throws {
        try await withFakeNP6API(configuration: Self.configuration()) { api in
            let contact = await api.state.contacts[0]
            var client = FakeAPIClient(handle: api, apiKey: nil)
            let missingKey = try await client.stopEvents([("id", contact.id)])
            let missingKeyAndContact = try await client.stopEvents([])
            client.apiKey = "wrong"
            let wrongKey = try await client.stopEvents([("id", contact.id)])
            client.apiKey = FakeNP6Configuration().apiKey
            client.keyHeaderName = "x-key"
            let lowerCaseHeader = try await client.stopEvents([("id", contact.id)])
            #expect(missingKey.status == 401 && missingKeyAndContact.status == 401 && wrongKey.status == 401)
            #expect(lowerCaseHeader.status == 200)
        }
    }

    @Test func unknownContactAnswers404() async throws {
        try await withFakeNP6API(configuration: Self.configuration()) { api in
            let client = FakeAPIClient(handle: api)
            for parameters in [
                [("id", "000ZZZZZ")], [("unicity", "nobody@example.com")],
                [("hash", String(repeating: "0", count: 32))],
            ] {
                let response = try await client.stopEvents(parameters)
                #expect(response.status == 404)
                #expect(response.headers.first(name: "content-type") == "application/json")
                let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                #expect(object?["error"] as? String == "not_found")
            }
            #expect(await api.state.statusCounts[404] == 3)
        }
    }

    // MARK: Knobs

    @Test func rateLimitAnswers429WithRetryAfterAndHeaders() async throws {
        var configuration = Self.configuration()
        configuration.knobs.rateLimitPerSecond = 3
        // The window stays still, however slowly a busy machine sends the requests.
        configuration.clock = ManualClock()
        try await withFakeNP6API(configuration: configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[0]
            var statuses: [Int] = []
            var limited: FetchedResponse?
            for _ in 0..<10 where limited == nil {
                let response = try await client.stopEvents([("id", contact.id), ("sort", "asc")])
                statuses.append(response.status)
                #expect(response.headers.first(name: "X-RateLimit-Limit") == "3")
                #expect(response.headers.first(name: "x-ratelimit-remaining").flatMap(Int.init) != nil)
                #expect(
                    response.headers.first(name: "X-RateLimit-Reset").flatMap(Int.init).map { (0...1).contains($0) }
                        == true
                )
                if response.status == 429 { limited = response }
            }
            let response = try #require(limited)
            #expect(statuses.filter { $0 == 200 }.count <= 3)
            #expect(response.headers.first(name: "Retry-After") == "1")
            #expect(response.headers.first(name: "X-RateLimit-Remaining") == "0")
            await api.state.setKnobs(FakeNP6Knobs())
            let unlimited = try await client.stopEvents([("id", contact.id)])
            #expect(unlimited.status == 200)
            #expect(unlimited.headers.first(name: "X-RateLimit-Limit") == nil)
        }
    }

    @Test func serverErrorRateAnswers500Or503() async throws {
        var configuration = Self.configuration()
        configuration.knobs.serverErrorRate = 1
        try await withFakeNP6API(configuration: configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[0]
            var statuses = Set<Int>()
            for _ in 0..<20 {
                statuses.insert(try await client.stopEvents([("id", contact.id)]).status)
            }
            #expect(statuses == [500, 503])
        }
    }

    @Test func droppedConnectionSurfacesAsAnErrorWhileReadingTheBody() async throws {
        var configuration = Self.configuration(contacts: 3, events: 0...0)
        configuration.knobs.dropConnectionRate = 1
        try await withFakeNP6API(configuration: configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contacts = await api.state.contacts
            await api.state.addEvents(to: contacts[0].id, timestamps: (0..<2000).map { 1_650_000_000_000 + Int64($0) })
            await api.state.addEvents(to: contacts[1].id, timestamps: [1_650_000_000_000])
            for contact in contacts {
                let response = try await client.execute("/targets/events/responses/stop?id=\(contact.id)&sort=asc")
                #expect(response.status == .ok)
                var received = 0
                let error = await #expect(throws: (any Error).self) {
                    for try await chunk in response.body { received += chunk.readableBytes }
                }
                // NIO's HTTP parser sees the connection end inside a chunked body.
                #expect(error as? HTTPParserError == .invalidEOFState, "\(String(describing: error))")
                if contact == contacts[0] {
                    #expect(received > 100_000, "a good part of the body arrives before the cut")
                }
            }
        }
    }

    @Test func garbageBodyIsNotAJSONArray() async throws {
        var configuration = Self.configuration()
        configuration.knobs.garbageBodyRate = 1
        try await withFakeNP6API(configuration: configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[0]
            var contentTypes = Set<String>()
            for _ in 0..<20 {
                let response = try await client.stopEvents([("id", contact.id), ("sort", "asc")])
                #expect(response.status == 200)
                #expect(response.body.first != UInt8(ascii: "["))
                contentTypes.insert(response.headers.first(name: "content-type") ?? "")
            }
            #expect(contentTypes == ["application/json", "text/html; charset=utf-8"])
        }
    }

    @Test func malformedElementsComeInThreeVariants() async throws {
        var configuration = Self.configuration(contacts: 2, events: 0...0)
        configuration.knobs.malformedElementRate = 0.5
        try await withFakeNP6API(configuration: configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[0]
            await api.state.addEvents(to: contact.id, timestamps: (0..<300).map { 1_650_000_000_000 + Int64($0) })
            let response = try await client.stopEvents([("id", contact.id), ("sort", "asc")])
            #expect(response.status == 200)
            let text = response.text
            let broken = text.components(separatedBy: #"{"id": }"#).count - 1
            let stringTimestamps = text.components(separatedBy: #""timestamp":""#).count - 1
            let withID = text.components(separatedBy: #"{"type":"stop","id":""#).count - 1
            let withoutID = text.components(separatedBy: #"{"type":"stop","timestamp""#).count - 1
            #expect(broken > 20 && stringTimestamps > 20 && withoutID > 20)
            #expect(broken + withID + withoutID == 300)
            #expect((90...210).contains(broken + stringTimestamps + withoutID))
        }
    }

    @Test func latencyDelaysTheResponseHead() async throws {
        var configuration = Self.configuration()
        configuration.knobs.latencyMs = 300
        try await withFakeNP6API(configuration: configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[0]
            let elapsed = try await ContinuousClock().measure {
                _ = try await client.stopEvents([("id", contact.id)])
            }
            #expect(elapsed >= .milliseconds(300))
        }
    }

    @Test func liveEventsArriveOverTimeAndLateOnesArePast() async throws {
        var configuration = Self.configuration(contacts: 5, events: 0...0)
        configuration.knobs.liveEventsPerSecond = 100
        configuration.knobs.lateFraction = 0.5
        configuration.knobs.lateByMs = 60_000
        // Live events arrive as the fake's clock moves, not as real time passes.
        let clock = ManualClock()
        configuration.clock = clock
        try await withFakeNP6API(configuration: configuration) { api in
            let client = FakeAPIClient(handle: api)
            let before = await api.state.eventCount()
            let started = api.state.wallNowMs()
            clock.advance(by: .milliseconds(500))
            let events = await api.state.allEvents()
            #expect(events.count - before >= 30)
            #expect(events.count - before == 50, "100 a second for half a second of the fake's clock")
            let late = events.filter { $0.timestampMs < $0.arrivedMs }
            let onTime = events.filter { $0.timestampMs == $0.arrivedMs }
            #expect(late.count >= 5 && onTime.count >= 5)
            #expect(late.allSatisfy { $0.arrivedMs - $0.timestampMs <= 60_000 })
            #expect(events.allSatisfy { $0.arrivedMs <= started + 500 }, "none arrives after the fake's now")
            #expect(events.allSatisfy { $0.arrivedMs <= api.state.wallNowMs() })
            var fromAPI = Set<String>()
            for contact in await api.state.contacts {
                fromAPI.formUnion(
                    try Self.ids(try await client.stopEvents([("id", contact.id), ("sort", "asc")]).body)
                )
            }
            #expect(Set(events.map(\.id)).isSubset(of: fromAPI))
        }
    }

    @Test func publishAddsEventsNowSomeLate() async throws {
        var configuration = Self.configuration(contacts: 4, events: 0...0)
        configuration.knobs.lateByMs = 120_000
        try await withFakeNP6API(configuration: configuration) { api in
            let client = FakeAPIClient(handle: api)
            let published = try await client.get("/_fake/publish?count=6&late=1", method: .POST)
            #expect(published.status == 200)
            let objects = try #require(try JSONSerialization.jsonObject(with: Data(published.body)) as? [[String: Any]])
            #expect(objects.count == 6)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for object in objects {
                let contactID = try #require(object["contact"] as? String)
                let event = try #require(object["event"] as? [String: Any])
                let timestamp = try #require((event["timestamp"] as? NSNumber)?.int64Value)
                #expect(timestamp < now && timestamp >= now - 125_000)
                let ids = try Self.ids(try await client.stopEvents([("id", contactID)]).body)
                #expect(ids.contains(try #require(event["id"] as? String)))
            }
            let direct = await api.state.publish(count: 3)
            #expect(direct.allSatisfy { $0.timestampMs == $0.arrivedMs })
            #expect(await api.state.eventCount() == 9)
        }
    }

    @Test func sameSeedGivesSameContactsAndEvents() async throws {
        let first = FakeNP6State(configuration: Self.configuration(seed: 99))
        let second = FakeNP6State(configuration: Self.configuration(seed: 99))
        let other = FakeNP6State(configuration: Self.configuration(seed: 100))
        #expect(await first.contacts == second.contacts)
        #expect(await first.allEvents().map(\.json) == second.allEvents().map(\.json))
        #expect(await first.contacts != other.contacts)
        #expect(await first.allEvents().map(\.id) != other.allEvents().map(\.id))
    }

    // MARK: Streaming

    @Test func hundredThousandEventContactStreamsAsOneWellFormedArray() async throws {
        try await withFakeNP6API(configuration: Self.configuration(contacts: 2, events: 0...0)) { api in
            let client = FakeAPIClient(handle: api)
            let contact = await api.state.contacts[1]
            let count = 100_000
            await api.state.addEvents(to: contact.id, timestamps: (0..<count).map { 1_600_000_000_000 + Int64($0) * 7 })
            let response = try await client.execute("/targets/events/responses/stop?id=\(contact.id)&sort=asc")
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "transfer-encoding") == "chunked")
            var scanner = JSONArrayScanner()
            var chunks = 0
            var bytes = 0
            for try await chunk in response.body {
                scanner.feed(chunk.readableBytesView)
                chunks += 1
                bytes += chunk.readableBytes
            }
            #expect(try scanner.finish() == count)
            #expect(chunks > 100)
            #expect(bytes > count * 300)
        }
    }

    // MARK: Admin

    @Test func adminEndpointsDescribeTheFake() async throws {
        try await withFakeNP6API(configuration: Self.configuration(contacts: 8)) { api in
            let client = FakeAPIClient(handle: api, apiKey: nil)
            let contacts = try JSONDecoder().decode(
                [FakeContact].self,
                from: Data(try await client.get("/_fake/contacts").body)
            )
            #expect(contacts == (await api.state.contacts))
            let events = try #require(
                try JSONSerialization.jsonObject(with: Data(try await client.get("/_fake/events").body))
                    as? [[String: Any]]
            )
            let expected = await api.state.allEvents()
            #expect(events.map { $0["contact"] as? String } == expected.map(\.contactID))
            #expect(events.map { ($0["event"] as? [String: Any])?["id"] as? String } == expected.map(\.id))
            _ = try await client.stopEvents([("id", contacts[0].id)])
            let stats = try #require(
                try JSONSerialization.jsonObject(with: Data(try await client.get("/_fake/stats").body))
                    as? [String: Any]
            )
            #expect(stats["total"] as? Int == 1)
            #expect((stats["byStatus"] as? [String: Any])?["401"] as? Int == 1)
            let knobs = try await client.get("/_fake/knobs", method: .POST)
            #expect(knobs.status == 400)
        }
    }

    @Test func knobsCanBeChangedOverHTTP() async throws {
        try await withFakeNP6API(configuration: Self.configuration()) { api in
            var request = HTTPClientRequest(url: api.baseURL + "/_fake/knobs")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"serverErrorRate":1,"rateLimitPerSecond":null,"latencyMs":5}"#))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            let knobs = await api.state.knobs
            #expect(knobs.serverErrorRate == 1 && knobs.latencyMs == 5 && knobs.rateLimitPerSecond == nil)
        }
    }

    @Test func serverIsTornDownWhenBodyThrows() async throws {
        struct Expected: Error {}
        var baseURL = ""
        await #expect(throws: Expected.self) {
            try await withFakeNP6API(configuration: Self.configuration()) { api in
                baseURL = api.baseURL
                throw Expected()
            }
        }
        let request = HTTPClientRequest(url: baseURL + "/_fake/contacts")
        await #expect(throws: (any Error).self) {
            _ = try await HTTPClient.shared.execute(request, timeout: .milliseconds(500))
        }
    }
}
