import Foundation
import Testing

@testable import NP6Fake

/// The fake counts the stop-events requests in flight at once per contact: the multi-instance
/// tests assert from `/_fake/stats` that no contact was ever requested by two daemons at once.
@Suite("ContactConcurrencyTests", .timeLimit(.minutes(2)))
struct ContactConcurrencyTests {
    static let configuration = FakeNP6ServerTests.configuration(contacts: 4, events: 2...3)

    struct Stats {
        var total: Int
        var maxPerContact: Int
        var overlappedCount: Int
        var overlappedIDs: [String]
    }

    static func stats(_ client: FakeAPIClient) async throws -> Stats {
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(try await client.get("/_fake/stats").body)) as? [String: Any])
        let overlapped = try #require(object["contactsRequestedConcurrently"] as? [String: Any])
        return Stats(
            total: try #require(object["total"] as? Int),
            maxPerContact: try #require(object["maxConcurrentRequestsPerContact"] as? Int),
            overlappedCount: try #require(overlapped["count"] as? Int),
            overlappedIDs: try #require(overlapped["ids"] as? [String]))
    }

    @Test func twoRequestsForOneContactInFlightAtOnceCountTwo() async throws {
        try await withFakeNP6API(configuration: Self.configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contacts = await api.state.contacts
            // Both answers are held after their decision, so both are in flight at once; the
            // second names the contact by another key.
            await api.state.holdResponses()
            async let first = client.stopEvents([("id", contacts[0].id), ("sort", "asc")])
            async let second = client.stopEvents([("hash", contacts[0].hash), ("sort", "asc")])
            await api.state.waitUntilHolding(2)
            await api.state.releaseResponses()
            #expect(try await first.status == 200)
            #expect(try await second.status == 200)
            let stats = try await Self.stats(client)
            #expect(stats.total == 2)
            #expect(stats.maxPerContact == 2)
            #expect(stats.overlappedCount == 1)
            #expect(stats.overlappedIDs == [contacts[0].id])
        }
    }

    @Test func sequentialRequestsAndConcurrentOnesForDifferentContactsCountOne() async throws {
        try await withFakeNP6API(configuration: Self.configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contacts = await api.state.contacts
            for _ in 0..<3 {
                #expect(try await client.stopEvents([("id", contacts[1].id), ("sort", "asc")]).status == 200)
            }
            await api.state.holdResponses()
            async let first = client.stopEvents([("id", contacts[2].id)])
            async let second = client.stopEvents([("unicity", contacts[3].unicity)])
            await api.state.waitUntilHolding(2)
            await api.state.releaseResponses()
            #expect(try await first.status == 200)
            #expect(try await second.status == 200)
            let stats = try await Self.stats(client)
            #expect(stats.total == 5)
            #expect(stats.maxPerContact == 1)
            #expect(stats.overlappedCount == 0)
            #expect(stats.overlappedIDs.isEmpty)
        }
    }

    @Test func aRequestStaysInFlightUntilItsBodyIsWritten() async throws {
        try await withFakeNP6API(configuration: Self.configuration) { api in
            let client = FakeAPIClient(handle: api)
            let contacts = await api.state.contacts
            // Held after its first element: the head and part of the body are out, not the end.
            await api.state.holdResponses(afterElements: 1)
            async let first = client.stopEvents([("id", contacts[0].id), ("sort", "asc")])
            await api.state.waitUntilHolding(1)
            #expect(api.state.requestConcurrency.summary.maxPerContact == 1)
            async let second = client.stopEvents([("id", contacts[0].id), ("sort", "asc")])
            await api.state.waitUntilHolding(2)
            await api.state.releaseResponses()
            let answers = try await [first.status, second.status]
            #expect(answers == [200, 200])
            #expect(api.state.requestConcurrency.summary.maxPerContact == 2)
        }
    }

    @Test func endedAndReleasedRequestsLeaveTheCount() {
        let concurrency = ContactConcurrency()
        #expect(concurrency.summary == .init(maxPerContact: 0, overlapped: [], overlappedCount: 0))
        let first = concurrency.begin(contact: 3)
        first.end()
        first.end()  // a second end does not count down twice
        do {
            _ = concurrency.begin(contact: 3)  // released at once: ended
        }
        let second = concurrency.begin(contact: 3)
        #expect(concurrency.summary.maxPerContact == 1)
        let third = concurrency.begin(contact: 3)
        #expect(concurrency.summary == .init(maxPerContact: 2, overlapped: [3], overlappedCount: 1))
        second.end()
        third.end()
        for contact in 0..<(ContactConcurrency.listedOverlaps + 5) {
            let requests = [concurrency.begin(contact: 100 + contact), concurrency.begin(contact: 100 + contact)]
            for request in requests { request.end() }
        }
        let summary = concurrency.summary
        #expect(summary.overlappedCount == ContactConcurrency.listedOverlaps + 6)
        #expect(summary.overlapped.count == ContactConcurrency.listedOverlaps)
        #expect(summary.overlapped.first == 3)
    }
}
