import Foundation
import NP6Fake
import NP6Model
import TestClocks
import Testing

@testable import NP6Client

/// The client against the fake NP6 API over loopback.
@Suite(.timeLimit(.minutes(5))) struct NP6ClientTests {
    static let past: Int64 = 0
    static var now: Int64 { Int64(Date.timeIntervalSinceReferenceDate * 1000) + 978_307_200_000 }

    func withClient<T: Sendable>(
        fake: FakeNP6Configuration = FakeNP6Configuration(contactCount: 5, eventsPerContact: 3...8),
        apiKey: String? = nil,
        batchSize: Int = 500,
        timeoutSeconds: Int = 20,
        _ body: (NP6Client, FakeNP6Handle) async throws -> T
    ) async throws -> T {
        try await withFakeNP6API(configuration: fake) { api in
            let client = NP6Client(
                configuration: NP6ClientConfiguration(
                    baseURL: api.baseURL, apiKey: apiKey ?? fake.apiKey, timeoutSeconds: timeoutSeconds,
                    batchSize: batchSize),
                now: { Self.now })
            do {
                let result = try await body(client, api)
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    /// Fetches one window and returns the batches as delivered.
    func fetch(
        _ client: NP6Client, _ contact: ContactReference, start: Int64 = past, end: Int64 = now
    ) async throws
        -> [(DecodedBatch, Bool)]
    {
        var batches: [(DecodedBatch, Bool)] = []
        try await client.fetchStopEvents(StopEventsQuery(contact: contact, startMs: start, endMs: end)) {
            batch, isLast in
            batches.append((batch, isLast))
        }
        return batches
    }

    @Test(arguments: ContactKind.allCases)
    func eachKindFetchesTheContactsEventsInOrder(kind: ContactKind) async throws {
        try await withClient { client, api in
            for contact in await api.state.contacts {
                let value =
                    switch kind {
                    case .id: contact.id
                    case .unicity: contact.unicity
                    case .hash: contact.hash
                    }
                let batches = try await fetch(client, ContactReference(kind: kind, value: value))
                #expect(batches.last?.1 == true)
                #expect(batches.filter(\.1).count == 1, "exactly one last batch")
                let events = batches.flatMap(\.0.events)
                let expected = await api.state.events(of: contact.id)
                #expect(events.map(\.id).sorted() == expected.map(\.id).sorted())
                #expect(events.map(\.timestampMs) == events.map(\.timestampMs).sorted(), "sort=asc is sent")
                // The payload is the fake's JSON byte for byte.
                let byID = Dictionary(uniqueKeysWithValues: expected.map { ($0.id, $0.json) })
                for event in events { #expect(String(decoding: event.payload, as: UTF8.self) == byID[event.id]) }
            }
            let request = try #require(await api.state.requestLog.last)
            #expect(request.query["sort"] == "asc")
        }
    }

    @Test func unicityWithReservedCharactersReachesTheServerIntact() async throws {
        try await withClient { client, api in
            let contact = try #require(await api.state.contacts.first { $0.unicity.contains("+") })
            _ = try await fetch(client, ContactReference(kind: .unicity, value: contact.unicity), start: 5, end: 1_000)
            let request = try #require(await api.state.requestLog.last)
            #expect(request.query["unicity"] == contact.unicity)
            #expect(request.query["start"] == "5")
            #expect(request.query["end"] == "1000")
            #expect(request.status == 200)
        }
    }

    @Test func bodyIsHandedOverInBatches() async throws {
        var fake = FakeNP6Configuration(contactCount: 1, eventsPerContact: 0...0)
        fake.seed = 3
        try await withClient(fake: fake, batchSize: 50) { client, api in
            let contact = try #require(await api.state.contacts.first)
            _ = await api.state.addEvents(to: contact.id, timestamps: (0..<1_234).map { 1_000_000 + Int64($0) })
            let batches = try await fetch(client, ContactReference(kind: .id, value: contact.id))
            #expect(batches.flatMap(\.0.events).count == 1_234)
            // Bounded by one batch plus what one network chunk completes.
            #expect(batches.allSatisfy { $0.0.events.count < 50 + 400 })
            #expect(batches.count > 2)
        }
    }

    @Test func statusesMapToErrors() async throws {
        try await withClient(apiKey: "not-the-key-93b1") { client, api in
            let contact = try #require(await api.state.contacts.first)
            await #expect(throws: NP6ClientError.unauthorized(status: 401)) {
                _ = try await fetch(client, ContactReference(kind: .id, value: contact.id))
            }
        }
        _ = try await withClient { client, _ in
            await #expect(throws: NP6ClientError.contactNotFound) {
                _ = try await fetch(client, ContactReference(kind: .id, value: "000ZZZZZ"))
            }
        }
        var failing = FakeNP6Configuration(contactCount: 2)
        failing.knobs.serverErrorRate = 1
        try await withClient(fake: failing) { client, api in
            let contact = try #require(await api.state.contacts.first)
            await #expect {
                _ = try await fetch(client, ContactReference(kind: .id, value: contact.id))
            } throws: { error in
                guard case .serverError(let status) = error as? NP6ClientError else { return false }
                return status == 500 || status == 503
            }
        }
    }

    @Test func theRateLimitHeadersArriveWithTheHeadEvenWhenTheBodyBreaks() async throws {
        var fake = FakeNP6Configuration(contactCount: 1, eventsPerContact: 600...600)
        fake.knobs.rateLimitPerSecond = 50
        fake.knobs.rateLimitKind = .tokenBucket
        fake.knobs.dropConnectionRate = 1
        fake.clock = ManualClock()
        try await withClient(fake: fake, batchSize: 50) { client, api in
            let contact = ContactReference(kind: .id, value: try #require(await api.state.contacts.first).id)
            var heads: [(Int, RateLimitInfo?)] = []
            var batchesBeforeHead = 0
            await #expect(throws: NP6ClientError.self) {
                try await client.fetchStopEvents(
                    StopEventsQuery(contact: contact, startMs: Self.past, endMs: Self.now),
                    onHead: { status, info in heads.append((status, info)) }
                ) { _, _ in
                    if heads.isEmpty { batchesBeforeHead += 1 }
                }
            }
            #expect(heads.count == 1)
            #expect(heads.first?.0 == 200)
            #expect(heads.first?.1?.limit == 50)
            #expect(heads.first?.1?.remaining == 49)
            #expect(batchesBeforeHead == 0)
        }
    }

    @Test func rateLimitCarriesTheAPIsPause() async throws {
        var limited = FakeNP6Configuration(contactCount: 2)
        limited.knobs.rateLimitPerSecond = 1
        // The window stays still, however slowly a busy machine sends the requests.
        limited.clock = ManualClock()
        try await withClient(fake: limited) { client, api in
            let contact = ContactReference(kind: .id, value: try #require(await api.state.contacts.first).id)
            var sawLimit = false
            for _ in 0..<5 {
                do {
                    _ = try await fetch(client, contact)
                } catch NP6ClientError.rateLimited(let info) {
                    let info = try #require(info)
                    #expect(info.limit == 1)
                    #expect(info.remaining == 0)
                    #expect(try #require(info.pauseUntilMs) > Self.now)
                    sawLimit = true
                    break
                }
            }
            #expect(sawLimit)
        }
    }

    @Test func bodyThatIsNotAnArrayIsMalformed() async throws {
        var garbage = FakeNP6Configuration(contactCount: 2)
        garbage.knobs.garbageBodyRate = 1
        try await withClient(fake: garbage) { client, api in
            let contact = ContactReference(kind: .id, value: try #require(await api.state.contacts.first).id)
            await #expect {
                _ = try await fetch(client, contact)
            } throws: { error in
                guard case .malformedBody = error as? NP6ClientError else { return false }
                return true
            }
        }
    }

    @Test func droppedConnectionIsATransportErrorAfterTheIntactElements() async throws {
        var dropping = FakeNP6Configuration(contactCount: 1, eventsPerContact: 0...0)
        dropping.knobs.dropConnectionRate = 1
        try await withClient(fake: dropping, batchSize: 10) { client, api in
            let contact = try #require(await api.state.contacts.first)
            _ = await api.state.addEvents(to: contact.id, timestamps: (0..<2_000).map { 5_000 + Int64($0) })
            var delivered: [StopEvent] = []
            var sawLast = false
            await #expect {
                try await client.fetchStopEvents(
                    StopEventsQuery(
                        contact: ContactReference(kind: .id, value: contact.id), startMs: 0, endMs: Self.now)
                ) { batch, isLast in
                    delivered += batch.events
                    sawLast = sawLast || isLast
                }
            } throws: { error in
                guard case .transport = error as? NP6ClientError else { return false }
                return true
            }
            #expect(!sawLast, "a cut body never reports its last batch")
            #expect(delivered.count > 0 && delivered.count < 2_000)
            #expect(
                delivered.map(\.timestampMs) == (0..<delivered.count).map { 5_000 + Int64($0) },
                "in order, none invented")
        }
    }

    /// `timeoutSeconds` is an idle read timeout: a server silent that long mid-body fails the
    /// request, after the elements received intact are handed over.
    @Test func serverStallingMidBodyLongerThanTheTimeoutFailsTheRequest() async throws {
        var stalling = FakeNP6Configuration(contactCount: 1, eventsPerContact: 0...0)
        stalling.knobs.bodyStallMs = 4_000
        try await withClient(fake: stalling, batchSize: 1, timeoutSeconds: 1) { client, api in
            let contact = try #require(await api.state.contacts.first)
            _ = await api.state.addEvents(to: contact.id, timestamps: (0..<10).map { 5_000 + Int64($0) })
            var delivered: [StopEvent] = []
            var sawLast = false
            await #expect {
                try await client.fetchStopEvents(
                    StopEventsQuery(
                        contact: ContactReference(kind: .id, value: contact.id), startMs: 0, endMs: Self.now)
                ) { batch, isLast in
                    delivered += batch.events
                    sawLast = sawLast || isLast
                }
            } throws: { error in
                guard case .transport(let reason) = error as? NP6ClientError else { return false }
                return reason.hasSuffix("read timeout")
            }
            #expect(!sawLast)
            #expect(delivered.count < 10)
        }
    }

    /// …while a body that takes longer than `timeoutSeconds` overall, but is never silent that
    /// long, is read to its end: nothing else bounds a whole request.
    @Test func bodyTricklingSlowerThanTheTimeoutOverallIsReadWhole() async throws {
        var trickling = FakeNP6Configuration(contactCount: 1, eventsPerContact: 0...0)
        // Gaps of 200 ms against a 3 s timeout: a loaded CI machine (the whole suite runs in
        // parallel on 2 cores) once stretched a 250 ms gap past a 1 s timeout.
        trickling.knobs.bodyTrickleMs = 200
        try await withClient(fake: trickling, timeoutSeconds: 3) { client, api in
            let contact = try #require(await api.state.contacts.first)
            _ = await api.state.addEvents(to: contact.id, timestamps: (0..<20).map { 5_000 + Int64($0) })
            let started = ContinuousClock.now
            let batches = try await fetch(client, ContactReference(kind: .id, value: contact.id))
            #expect(ContinuousClock.now - started > .seconds(3), "longer overall than the timeout")
            #expect(batches.flatMap(\.0.events).map(\.timestampMs) == (0..<20).map { 5_000 + Int64($0) })
            #expect(batches.last?.1 == true)
        }
    }

    @Test func unreachableServerIsATransportError() async throws {
        let client = NP6Client(
            configuration: NP6ClientConfiguration(baseURL: "http://127.0.0.1:1", apiKey: "k", timeoutSeconds: 2),
            now: { Self.now })
        await #expect {
            _ = try await fetch(client, ContactReference(kind: .id, value: "x"))
        } throws: { error in
            guard case .transport = error as? NP6ClientError else { return false }
            return true
        }
        try await client.shutdown()
    }
}
