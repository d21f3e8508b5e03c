import Foundation
import PostgresNIO
import StoreTestSupport
import Testing

/// Several `np6-sync run` daemons on one PostgreSQL database, sharing the contacts by lease (the
/// built binary, a real server: `NP6_TEST_POSTGRES_URL`, see `scripts/test-postgres`). Under
/// `CI=true` these run, and fail, when no server is named.
@Suite(.timeLimit(.minutes(10)), .enabled(if: PostgresTestServer.isEnabled))
struct PostgresClusterEndToEndTests {
    let apiKey = "e2e-key-0c5e81d94b7a2f36"
    static let leaseSeconds = 5
    static let intervalSeconds = 2

    /// Three daemons, a live feed of events (some late), a webhook sink; one daemon is SIGKILLed
    /// mid-run. Its contacts are polled again within `leaseSeconds` plus one interval; at the end
    /// PostgreSQL holds exactly the fake's events, no contact was ever requested by two daemons at
    /// once (the fake's latency makes overlapping polls visible), the webhook got every event
    /// (at least once: the daemons may each deliver it), and the survivors exit 0 on SIGTERM.
    @Test func threeDaemonsShareTheContactsAndTakeOverAKilledOnesContacts() async throws {
        try await PostgresEndToEndFixture.run(
            fakeArguments: [
                "--contacts", "24", "--seed", "47", "--events-per-contact", "0-8", "--latency-ms", "200",
                "--live-events-per-second", "6", "--late-fraction", "0.3",
            ],
            apiKey: apiKey
        ) { fixture in
            try await withWebhookRecorder { hook, hookURL in
                try await run(fixture, hook: hook, hookURL: hookURL)
            }
        }
    }

    private func run(_ fixture: PostgresEndToEndFixture, hook: WebhookRecorder, hookURL: String) async throws {
        let contactCount = try await fixture.fakeContacts().count
        // `check-api` at start (on by default) reads histories of contacts it claimed: leased too.
        let config = fixture.directory.file(
            "config.json",
            contents: """
                {"api": {"baseURL": "\(fixture.baseURL)", "requestsPerSecond": 60, "maxConcurrentRequests": 2},
                 "database": \(fixture.databaseObject(passwordFile: true, extra: #""leaseSeconds": \#(Self.leaseSeconds)"#)),
                 "schedule": {"intervalSeconds": \(Self.intervalSeconds), "jitterSeconds": 0},
                 "contacts": \(try await fixture.contactsList(by: "id")),
                 "sinks": [{"name": "hook", "type": "webhook", "url": "\(hookURL)", "batchSize": 50}]}
                """)
        let daemons = try (0..<3).map { _ in
            try DaemonProcess(arguments: ["--config", config], environment: ["NP6_API_KEY": apiKey])
        }
        for daemon in daemons {
            #expect(await daemon.waitForLog("np6-sync started"), "stderr: \(daemon.stderr)")
        }
        #expect(
            try await eventually {
                let synced = try await fixture.query(
                    "SELECT count(*) FROM contacts WHERE last_success_ms IS NOT NULL"
                ) { try $0.decode(Int.self) }
                let instances = try await fixture.query("SELECT count(*) FROM instances") { try $0.decode(Int.self) }
                return synced == [contactCount] && instances == [3]
            }, "every contact synced once, three instances heartbeating")

        // The victim, killed while it holds leases: its polls in flight, one of them claimed in
        // the last 150 ms (its request, 200 ms at the fake, is not done yet), so that it dies
        // holding at least that lease rather than with its release committing.
        let victim = daemons[1]
        let victimID = try #require(
            try await fixture.query("SELECT id FROM instances WHERE pid = \(Int64(victim.process.processIdentifier))") {
                try $0.decode(String.self)
            }.first)
        var leased: [(contact: Int64, untilMs: Int64)] = []
        var killedMs: Int64 = 0
        #expect(
            try await eventually {
                leased = try await fixture.query(
                    """
                    SELECT id, lease_until_ms FROM contacts
                    WHERE lease_owner = \(victimID) AND lease_until_ms > \(Self.nowMs())
                    """
                ) { try $0.decode((Int64, Int64).self) }.map { (contact: $0.0, untilMs: $0.1) }
                let freshSince = Self.nowMs() + Int64(Self.leaseSeconds) * 1000 - 150
                guard leased.contains(where: { $0.untilMs >= freshSince }) else { return false }
                victim.signal(SIGKILL)
                killedMs = Self.nowMs()
                return true
            }, "the victim holds a lease at some moment")
        try #require(!leased.isEmpty)
        #expect(await victim.waitForExit(timeout: 10) != nil)
        // Those whose poll was committing at the kill were released by it: the others it died with.
        let orphaned = Set(
            try await fixture.query("SELECT id FROM contacts WHERE lease_owner = \(victimID)") {
                try $0.decode(Int64.self)
            })
        #expect(!orphaned.isEmpty, "the victim died holding a lease")
        let tracked = Set(leased.map(\.contact)).union(orphaned)

        // Failover: each contact it held is polled again (a poll written by another instance)
        // within leaseSeconds plus one interval of the kill.
        var repolledMs: [Int64: Int64] = [:]
        #expect(
            try await eventually(timeout: .seconds(60)) {
                let rows = try await fixture.query(
                    "SELECT id, last_attempt_ms FROM contacts WHERE id = ANY(\(Array(tracked)))"
                ) { try $0.decode((Int64, Int64?).self) }
                for (contact, attempt) in rows where repolledMs[contact] == nil {
                    if let attempt, attempt > killedMs { repolledMs[contact] = attempt }
                }
                return repolledMs.count == tracked.count
            }, "the killed daemon's contacts are polled again")
        let bound = Int64(Self.leaseSeconds + Self.intervalSeconds) * 1000
        let failover = repolledMs.values.map { $0 - killedMs }.max() ?? .max
        let orphanedFailover = orphaned.compactMap { repolledMs[$0].map { $0 - killedMs } }.max() ?? 0
        let orphanedUntil = leased.filter { orphaned.contains($0.contact) }.map { $0.untilMs - killedMs }.max() ?? 0
        print(
            "failover: the \(orphaned.count) contacts the killed daemon died leasing were polled again within"
                + " \(orphanedFailover) ms of the kill (their leases ran until kill + \(orphanedUntil) ms); all"
                + " \(tracked.count) it held at or just before it, within \(failover) ms; bound \(bound) ms")
        #expect(failover <= bound, "failover took \(failover) ms, more than leaseSeconds + intervalSeconds")

        // The feed stops; the survivors catch up with everything, late events included.
        try await fixture.setFakeKnobs(#"{"liveEventsPerSecond": 0}"#)
        let expected = try await fixture.fakeEvents()
        #expect(
            try await eventually(timeout: .seconds(90)) {
                let stored = try await fixture.query("SELECT id FROM events") { try $0.decode(String.self) }
                return Set(stored) == Set(expected.keys)
            }, "the survivors store every event")
        try await fixture.expectStoredEvents(equal: expected)
        #expect(
            try await eventually(timeout: .seconds(90)) { Set(hook.receivedIDs).isSuperset(of: expected.keys) },
            "the webhook got every event")

        let stats = try await fixture.fakeStats()
        #expect((stats["total"] as? NSNumber)?.intValue ?? 0 > contactCount * 3)
        #expect(
            (stats["maxConcurrentRequestsPerContact"] as? NSNumber)?.intValue == 1,
            "no contact requested by two daemons at once: \(stats)")

        for daemon in [daemons[0], daemons[2]] {
            #expect(try await eventually { daemon.handles(SIGTERM) }, "the daemon traps SIGTERM")
            daemon.signal(SIGTERM)
        }
        for daemon in [daemons[0], daemons[2]] {
            let exit = try #require(await daemon.waitForExit(timeout: 15))
            #expect(exit.status == 0, "stderr: \(daemon.stderr)")
            #expect(!daemon.stderr.contains(fixture.password) && !daemon.stderr.contains(apiKey))
        }
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
