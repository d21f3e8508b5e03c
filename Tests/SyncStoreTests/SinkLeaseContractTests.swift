import Foundation
import NP6Model
import StoreTestSupport
import SyncStore
import Testing

/// Several daemons on one database: each sink is delivered by the one instance holding its
/// lease, and the cursor writes of an instance that lost it are fenced. Two stores open on one
/// database stand for two daemons; times are passed in, so expiry needs no sleep.
@Suite(.timeLimit(.minutes(5))) struct SinkLeaseContractTests {
    let alice = ContactReference(kind: .unicity, value: "alice@example.com")
    let one = StoreInstance(id: "instance-one", host: "host-a", pid: 101, startedMs: 500)
    let two = StoreInstance(id: "instance-two", host: "host-b", pid: 202, startedMs: 600)

    /// Stores events `e1`…`eN` (seq 1…N) for alice.
    func store(_ count: Int, in database: any EventStore) async throws -> [StoredEvent] {
        _ = try await database.addContacts([alice], now: 1)
        let id = try #require(try await database.contact(alice)).id
        _ = try await database.write(
            .batch(
                contact: PollTarget(id: id, generation: 0), events: (1...count).map { event("e\($0)", at: Int64($0)) },
                malformed: [], checkpoint: nil, now: 1_000))
        return try #require(try await database.pendingBatch(for: "crm", limit: count)).events
    }

    @Test(arguments: StoreKind.sharedCases) func sinkLeaseIsHeldByOneInstanceUntilItExpires(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            #expect(
                try await first.claimSinkLease("crm", for: one, nowMs: 1_000, leaseUntilMs: 31_000) == nil,
                "a sink that never ran has no cursor to lease")
            try await first.createSinkCursor("crm", startingAfterLatest: false, now: 1_000)
            let token = try #require(
                try await first.claimSinkLease("crm", for: one, nowMs: 1_000, leaseUntilMs: 31_000))
            #expect(try await second.claimSinkLease("crm", for: two, nowMs: 1_000, leaseUntilMs: 31_000) == nil)
            #expect(try await second.claimSinkLease("crm", for: two, nowMs: 30_999, leaseUntilMs: 60_999) == nil)
            // Renewing keeps the token and moves the expiry…
            #expect(try await first.claimSinkLease("crm", for: one, nowMs: 20_000, leaseUntilMs: 50_000) == token)
            #expect(try await second.claimSinkLease("crm", for: two, nowMs: 31_000, leaseUntilMs: 61_000) == nil)
            // …and once it was not renewed, the lease expires: the other instance takes it, with a new token.
            let taken = try #require(
                try await second.claimSinkLease("crm", for: two, nowMs: 50_000, leaseUntilMs: 80_000))
            #expect(taken != token)
            #expect(try await first.claimSinkLease("crm", for: one, nowMs: 50_001, leaseUntilMs: 80_001) == nil)
            // Another sink's lease is its own.
            try await first.createSinkCursor("archive", startingAfterLatest: false, now: 50_002)
            #expect(
                try await first.claimSinkLease("archive", for: one, nowMs: 50_002, leaseUntilMs: 80_002) != nil)
        }
    }

    @Test(arguments: StoreKind.sharedCases) func cursorWritesOfAnInstanceThatLostTheLeaseAreFenced(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            try await first.createSinkCursor("crm", startingAfterLatest: false, now: 1)
            let events = try await store(6, in: first)
            let mine = try #require(
                try await first.claimSinkLease("crm", for: one, nowMs: 1_000, leaseUntilMs: 31_000))
            #expect(try await first.advanceSinkCursor("crm", from: 0, to: 2, now: 2_000, fencedBy: mine))

            // The first instance pauses past its lease; the second takes the sink over.
            let theirs = try #require(
                try await second.claimSinkLease("crm", for: two, nowMs: 31_000, leaseUntilMs: 61_000))
            // The paused instance resumes: none of its writes lands.
            #expect(!(try await first.advanceSinkCursor("crm", from: 2, to: 4, now: 32_000, fencedBy: mine)))
            #expect(
                !(try await first.recordDeadLetter(
                    "crm", event: events[2], answer: "HTTP 422", advancingCursorFrom: 2, now: 32_001, fencedBy: mine)))
            try await first.recordSinkFailure("crm", state: .stopped, error: "HTTP 400", now: 32_002, fencedBy: mine)
            var cursor = try #require(try await second.sinkCursor("crm"))
            #expect(cursor.deliveredSeq == 2)
            #expect(cursor.state == .running)
            #expect(cursor.lastError == nil)
            #expect(try await second.pendingDeadLetters(for: "crm").isEmpty)

            // The holder's writes land, from the cursor the other left.
            try await second.recordSinkFailure("crm", state: .failing, error: "HTTP 503", now: 33_000, fencedBy: theirs)
            try await first.recordSinkRunning("crm", now: 33_001, fencedBy: mine)
            #expect(try await second.sinkCursor("crm")?.state == .failing, "the ex-holder cannot mark it running")
            try await second.recordSinkRunning("crm", now: 33_002, fencedBy: theirs)
            #expect(
                try await second.recordDeadLetter(
                    "crm", event: events[2], answer: "HTTP 422", advancingCursorFrom: 2, now: 34_000, fencedBy: theirs))
            #expect(try await second.advanceSinkCursor("crm", from: 3, to: 6, now: 35_000, fencedBy: theirs))
            cursor = try #require(try await first.sinkCursor("crm"))
            #expect(cursor.deliveredSeq == 6)
            #expect(cursor.state == .running)
            #expect(try await first.pendingDeadLetters(for: "crm").map(\.eventSeq) == [3])

            // A replay (unleased, from the CLI) still wins over the holder's batch in flight.
            _ = try await first.rewindSinkCursor("crm", toRedeliverFromSeq: 1, now: 36_000)
            #expect(!(try await second.advanceSinkCursor("crm", from: 6, to: 7, now: 36_001, fencedBy: theirs)))
            #expect(try await second.advanceSinkCursor("crm", from: 0, to: 6, now: 36_002, fencedBy: theirs))
        }
    }

    @Test(arguments: StoreKind.sharedCases) func releasedSinkLeaseIsTakenAtOnce(_ kind: StoreKind) async throws {
        try await kind.withTwoSharedStores { first, second in
            try await first.createSinkCursor("crm", startingAfterLatest: false, now: 1)
            _ = try await store(2, in: first)
            let mine = try #require(
                try await first.claimSinkLease("crm", for: one, nowMs: 1_000, leaseUntilMs: 31_000))
            // Another instance's release gives nothing up.
            try await second.releaseSinkLease("crm", of: two)
            #expect(try await second.claimSinkLease("crm", for: two, nowMs: 2_000, leaseUntilMs: 32_000) == nil)
            // A graceful stop: the other takes it over at once, not when it would have expired.
            try await first.releaseSinkLease("crm", of: one)
            let theirs = try #require(
                try await second.claimSinkLease("crm", for: two, nowMs: 3_000, leaseUntilMs: 33_000))
            #expect(theirs != mine)
            #expect(!(try await first.advanceSinkCursor("crm", from: 0, to: 2, now: 4_000, fencedBy: mine)))
            // Coming back, the first instance gets a new token once the lease is free again.
            try await second.releaseSinkLease("crm", of: two)
            let again = try #require(
                try await first.claimSinkLease("crm", for: one, nowMs: 5_000, leaseUntilMs: 35_000))
            #expect(again != mine && again != theirs)
            #expect(!(try await first.advanceSinkCursor("crm", from: 0, to: 2, now: 6_000, fencedBy: mine)))
            #expect(try await first.advanceSinkCursor("crm", from: 0, to: 2, now: 6_001, fencedBy: again))
        }
    }

    @Test(arguments: StoreKind.sharedCases) func sinkStatusShowsTheLeaseHolder(_ kind: StoreKind) async throws {
        try await kind.withTwoSharedStores { first, second in
            try await first.createSinkCursor("crm", startingAfterLatest: false, now: 1)
            try await first.createSinkCursor("archive", startingAfterLatest: false, now: 1)
            _ = try await first.heartbeat(
                one, nowMs: 1_000, renewing: [], leaseUntilMs: 31_000, liveSinceMs: 0, rateLimitedUntilMs: nil)
            _ = try #require(try await first.claimSinkLease("crm", for: one, nowMs: 1_000, leaseUntilMs: 31_000))
            _ = try #require(try await second.claimSinkLease("archive", for: two, nowMs: 1_000, leaseUntilMs: 31_000))
            var statuses = try await second.sinkStatuses()
            #expect(statuses.map(\.cursor.sink) == ["archive", "crm"])
            #expect(statuses[1].lease == SinkLease(owner: one.id, host: one.host, pid: one.pid, untilMs: 31_000))
            // An instance with no heartbeat in `instances` is named by its id alone.
            #expect(statuses[0].lease == SinkLease(owner: two.id, untilMs: 31_000))
            #expect(statuses[0].lease?.isLive(now: 30_999) == true)
            #expect(statuses[0].lease?.isLive(now: 31_000) == false)
            try await first.releaseSinkLease("crm", of: one)
            statuses = try await second.sinkStatuses()
            #expect(statuses[1].lease == nil)
        }
    }
}
