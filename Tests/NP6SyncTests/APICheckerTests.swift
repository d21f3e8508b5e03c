import NP6Client
import NP6Fake
import NP6Model
import Testing

@testable import NP6Sync

/// `check-api`: each assumption about the API holds against the fake, and each is caught when
/// the fake breaks it.
@Suite(.timeLimit(.minutes(5))) struct APICheckerTests {
    func check(
        _ knobs: FakeNP6Knobs = FakeNP6Knobs(), eventsPerContact: ClosedRange<Int> = 10...20,
        apiKey: String? = nil
    ) async throws -> APIChecker.Report {
        var fake = FakeNP6Configuration(contactCount: 4, eventsPerContact: eventsPerContact)
        fake.knobs = knobs
        return try await withSyncFixture(fake: fake, apiKey: apiKey) { fixture in
            let contacts = await fixture.api.state.contacts.map { ContactReference(kind: .id, value: $0.id) }
            // A contact the API does not know comes first: it is skipped.
            let unknown = ContactReference(kind: .id, value: "NOSUCHCONTACT")
            return try await APIChecker(client: fixture.client).run(contacts: [unknown] + contacts)
        }
    }

    func failed(_ report: APIChecker.Report) -> [String] {
        report.failed.map(\.assumption)
    }

    @Test func everyAssumptionHoldsAgainstTheFake() async throws {
        let report = try await check()
        #expect(report.checks.count == 7)
        #expect(report.failed.isEmpty, "\(report.failed)")
        #expect(report.unchecked.isEmpty, "\(report.unchecked)")
        #expect(report.checks.allSatisfy { !$0.sent.isEmpty })
    }

    @Test func integersReadAsSecondsAreCaught() async throws {
        let report = try await check(FakeNP6Knobs(integerBoundsAsSeconds: true))
        #expect(failed(report).contains { $0.hasPrefix("integer start/end are milliseconds") })
        #expect(failed(report).contains { $0.hasPrefix("ISO-8601 bounds agree") })
    }

    @Test func anIgnoredSortIsCaught() async throws {
        let report = try await check(FakeNP6Knobs(unsortedBodyRate: 1))
        #expect(failed(report) == ["sort=asc is honoured"])
    }

    @Test func anInclusiveEndIsCaught() async throws {
        let report = try await check(FakeNP6Knobs(endInclusive: true))
        #expect(failed(report).contains { $0.hasPrefix("end is exclusive") })
        #expect(!failed(report).contains { $0.hasPrefix("start is inclusive") })
    }

    @Test func aRefusedKeyStopsTheChecks() async throws {
        let report = try await check(apiKey: "wrong-key")
        #expect(report.unauthorizedStatus == 401)
        #expect(failed(report) == ["the API key is accepted"])
    }

    @Test func noContactWithEventsLeavesTheChecksUndone() async throws {
        let report = try await check(eventsPerContact: 0...0)
        #expect(report.failed.isEmpty)
        #expect(report.unchecked.map(\.assumption).contains("a contact with events to check against"))
    }
}
