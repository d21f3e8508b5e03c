import Foundation
import NP6Model
import StoreTestSupport
import SyncStore
import Testing

/// Several daemons on one database: contact leases, their fencing, and heartbeats. Two stores
/// open on one database stand for two daemons; times are passed in, so expiry needs no sleep.
@Suite(.timeLimit(.minutes(5))) struct LeaseContractTests {
    let alice = ContactReference(kind: .unicity, value: "alice+news@example.com")
    let bob = ContactReference(kind: .id, value: "000R4M0T")
    let carol = ContactReference(kind: .hash, value: "c4r01")
    let one = StoreInstance(id: "instance-one", host: "host-a", pid: 101, startedMs: 500)
    let two = StoreInstance(id: "instance-two", host: "host-b", pid: 202, startedMs: 600)

    @Test(arguments: StoreKind.sharedCases) func claimedContactIsNotClaimedByAnotherUntilItsLeaseExpires(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            _ = try await first.addContacts([alice, bob], now: 1)
            let claimed = try await first.claimDueContacts(
                nowMs: 1_000, limit: 1, excluding: [], for: one, leaseUntilMs: 31_000)
            #expect(claimed.map(\.reference) == [alice])
            let token = try #require(claimed.first?.leaseToken)
            #expect(claimed.first?.pollTarget.leaseToken == token)
            // The other instance gets what is left, and nothing more while the lease lives.
            let rest = try await second.claimDueContacts(
                nowMs: 1_000, limit: 10, excluding: [], for: two, leaseUntilMs: 100_000)
            #expect(rest.map(\.reference) == [bob])
            #expect(
                try await second.claimDueContacts(
                    nowMs: 30_999, limit: 10, excluding: [], for: two, leaseUntilMs: 60_999
                )
                .isEmpty)
            // A heartbeat renews the leases of the polls in flight…
            _ = try await first.heartbeat(
                one, nowMs: 20_000, renewing: [claimed[0].id], leaseUntilMs: 50_000, liveSinceMs: -10_000,
                rateLimitedUntilMs: nil)
            #expect(
                try await second.claimDueContacts(
                    nowMs: 31_000, limit: 10, excluding: [], for: two, leaseUntilMs: 61_000
                )
                .isEmpty)
            // …and once no heartbeat renewed it, the lease expires: the other instance takes it over.
            let takenOver = try await second.claimDueContacts(
                nowMs: 50_000, limit: 10, excluding: [], for: two, leaseUntilMs: 80_000)
            #expect(takenOver.map(\.reference) == [alice])
            let newToken = try #require(takenOver.first?.leaseToken)
            #expect(newToken != token)
            // A renewal by the instance that lost it changes nothing.
            _ = try await first.heartbeat(
                one, nowMs: 50_001, renewing: [claimed[0].id], leaseUntilMs: 200_000, liveSinceMs: 20_001,
                rateLimitedUntilMs: nil)
            let status = try await first.status(now: 80_000)
            #expect(status.instances.first { $0.instance == one }?.leases == 0)
        }
    }

    @Test(arguments: StoreKind.sharedCases) func writeFencedAfterTheLeaseWasTakenOverDoesNotMoveTheWatermark(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            _ = try await first.addContacts([alice], now: 1)
            let mine = try #require(
                try await first.claimDueContacts(nowMs: 1_000, limit: 1, excluding: [], for: one, leaseUntilMs: 31_000)
                    .first)
            let early = try await first.write(
                .batch(
                    contact: mine.pollTarget, events: [event("a", at: 100)], malformed: [],
                    checkpoint: .advance(toMs: 5_000), now: 2_000))
            #expect(!early.supersededByOperator)
            #expect(try await first.contact(alice)?.watermarkMs == 5_000)

            // The first instance pauses past its lease; the second takes the contact over.
            let theirs = try #require(
                try await second.claimDueContacts(
                    nowMs: 31_000, limit: 1, excluding: [], for: two, leaseUntilMs: 61_000
                )
                .first)
            // The paused instance resumes: its events are stored, the watermark stays.
            let late = try await first.write(
                .batch(
                    contact: mine.pollTarget, events: [event("late", at: 8_000)], malformed: [],
                    checkpoint: .advance(toMs: 9_000), now: 32_000))
            #expect(late.new == 1)
            #expect(late.supersededByOperator)
            let finish = try await first.write(
                .finish(
                    contact: mine.pollTarget, events: [], malformed: [], watermarkMs: 10_000, nextDueMs: 99_000,
                    now: 33_000))
            #expect(finish.supersededByOperator)
            try await first.write(
                .failure(contact: mine.pollTarget, status: .failed, error: "HTTP 503", nextDueMs: 99_000, now: 33_001))
            var row = try #require(try await second.contact(alice))
            #expect(row.watermarkMs == 5_000)
            #expect(row.lastStatus == nil)
            #expect(row.nextDueMs == 1)
            // The late writes released nothing: the lease is still the second instance's.
            #expect(
                try await first.claimDueContacts(nowMs: 34_000, limit: 1, excluding: [], for: one, leaseUntilMs: 64_000)
                    .isEmpty)

            // The new holder's writes move the row, and its last write gives the lease up.
            let own = try await second.write(
                .finish(
                    contact: theirs.pollTarget, events: [event("late", at: 8_000)], malformed: [], watermarkMs: 7_000,
                    nextDueMs: 40_000, now: 35_000))
            #expect(!own.supersededByOperator)
            #expect(own.duplicate == 1)
            row = try #require(try await second.contact(alice))
            #expect(row.watermarkMs == 7_000)
            #expect(row.lastStatus == .ok)
            #expect(try await first.eventIDs() == ["a", "late"])
            let again = try await first.claimDueContacts(
                nowMs: 40_000, limit: 1, excluding: [], for: one, leaseUntilMs: 70_000)
            #expect(again.map(\.reference) == [alice], "released at once, not when the lease would have expired")
        }
    }

    @Test(arguments: StoreKind.sharedCases) func operatorCommandDuringALeasedPollReleasesTheLease(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            _ = try await first.addContacts([alice], now: 1)
            let mine = try #require(
                try await first.claimDueContacts(nowMs: 1_000, limit: 1, excluding: [], for: one, leaseUntilMs: 31_000)
                    .first)
            #expect(try await second.recheckContacts([alice], now: 2_000).isEmpty)
            let finish = try await first.write(
                .finish(
                    contact: mine.pollTarget, events: [], malformed: [], watermarkMs: 10_000, nextDueMs: 99_000,
                    now: 3_000))
            #expect(finish.supersededByOperator)
            // Due as the command set it, now, not when the lease would have expired.
            let claimed = try await second.claimDueContacts(
                nowMs: 3_000, limit: 1, excluding: [], for: two, leaseUntilMs: 33_000)
            #expect(claimed.map(\.reference) == [alice])
        }
    }

    @Test(arguments: StoreKind.sharedCases) func concurrentClaimsNeverShareAContact(_ kind: StoreKind) async throws {
        try await kind.withTwoSharedStores { first, second in
            let references = (0..<200).map { ContactReference(kind: .id, value: "C\($0)") }
            _ = try await first.addContacts(references, now: 1)
            func claimAll(_ store: any SharedStore, _ instance: StoreInstance) async throws -> [Int64] {
                var ids: [Int64] = []
                while true {
                    let claimed = try await store.claimDueContacts(
                        nowMs: 1_000, limit: 7, excluding: [], for: instance, leaseUntilMs: 31_000)
                    if claimed.isEmpty { return ids }
                    ids += claimed.map(\.id)
                }
            }
            async let a = claimAll(first, one)
            async let b = claimAll(second, two)
            let (mine, theirs) = try await (a, b)
            #expect(Set(mine).isDisjoint(with: theirs))
            #expect(mine.count + theirs.count == 200)
            #expect(Set(mine + theirs).count == 200)
        }
    }

    @Test(arguments: StoreKind.sharedCases) func instancesHeartbeatAndShowTheirLeases(_ kind: StoreKind) async throws {
        try await kind.withTwoSharedStores { first, second in
            _ = try await first.addContacts([alice, bob, carol], now: 1)
            #expect(
                try await first.heartbeat(
                    one, nowMs: 1_000, renewing: [], leaseUntilMs: 31_000, liveSinceMs: -29_000, rateLimitedUntilMs: nil
                ).liveInstances == 1)
            #expect(
                try await second.heartbeat(
                    two, nowMs: 2_000, renewing: [], leaseUntilMs: 32_000, liveSinceMs: -28_000, rateLimitedUntilMs: nil
                ).liveInstances == 2)
            let claimed = try await first.claimDueContacts(
                nowMs: 2_000, limit: 2, excluding: [], for: one, leaseUntilMs: 32_000)
            #expect(claimed.count == 2)
            var status = try await second.status(now: 3_000)
            #expect(
                status.instances == [
                    InstanceStatus(instance: two, lastHeartbeatMs: 2_000, leases: 0),
                    InstanceStatus(instance: one, lastHeartbeatMs: 1_000, leases: 2),
                ])
            // The first instance falls silent: no longer live, its leases expired.
            #expect(
                try await second.heartbeat(
                    two, nowMs: 40_000, renewing: [], leaseUntilMs: 70_000, liveSinceMs: 10_000, rateLimitedUntilMs: nil
                ).liveInstances == 1)
            status = try await second.status(now: 40_000)
            #expect(status.instances.map(\.leases) == [0, 0])
            #expect(status.instances.map(\.lastHeartbeatMs) == [40_000, 1_000])

            // A graceful stop gives the leases up at once and leaves `instances`.
            let third = try await first.claimDueContacts(
                nowMs: 40_000, limit: 3, excluding: [], for: one, leaseUntilMs: 70_000)
            #expect(third.count == 3)
            try await first.releaseLeases(of: one)
            status = try await second.status(now: 41_000)
            #expect(status.instances.map(\.instance) == [two])
            let taken = try await second.claimDueContacts(
                nowMs: 41_000, limit: 3, excluding: [], for: two, leaseUntilMs: 71_000)
            #expect(taken.count == 3)
        }
    }

    @Test(arguments: StoreKind.sharedCases) func leasesOnContactsClaimedButNotPolledAreGivenUpAlone(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            _ = try await first.addContacts([alice, bob], now: 1)
            // The start-up API check claimed both, asked them, and gives them up.
            let claimed = try await first.claimDueContacts(
                nowMs: 1_000, limit: 2, excluding: [], for: one, leaseUntilMs: 31_000)
            #expect(claimed.count == 2)
            let aliceClaim = try #require(claimed.first { $0.reference == alice }?.pollTarget)
            try await first.releaseLeases([aliceClaim], of: one)
            let taken = try await second.claimDueContacts(
                nowMs: 2_000, limit: 2, excluding: [], for: two, leaseUntilMs: 32_000)
            #expect(taken.map(\.reference) == [alice], "bob's lease is still the first's")
            // Giving up a lease another instance holds changes nothing.
            try await first.releaseLeases([aliceClaim], of: one)
            #expect(
                try await first.claimDueContacts(
                    nowMs: 3_000, limit: 2, excluding: [], for: one, leaseUntilMs: 33_000
                ).isEmpty)
        }
    }

    /// The start-up check's claim outlived its lease and the same instance claimed the contact
    /// again for a poll: giving up the old claim leaves the poll's lease alone (it is matched by
    /// its token, not by the owner).
    @Test(arguments: StoreKind.sharedCases) func givingUpAClaimLeavesALaterClaimOfTheSameInstanceAlone(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            _ = try await first.addContacts([alice], now: 1)
            let check = try #require(
                try await first.claimDueContacts(nowMs: 1_000, limit: 1, excluding: [], for: one, leaseUntilMs: 6_000)
                    .first)
            let poll = try #require(
                try await first.claimDueContacts(nowMs: 6_000, limit: 1, excluding: [], for: one, leaseUntilMs: 11_000)
                    .first)
            #expect(poll.leaseToken != check.leaseToken)
            try await first.releaseLeases([check.pollTarget], of: one)
            #expect(
                try await second.claimDueContacts(nowMs: 7_000, limit: 1, excluding: [], for: two, leaseUntilMs: 12_000)
                    .isEmpty, "the poll's lease is still held")
            try await first.releaseLeases([poll.pollTarget], of: one)
            #expect(
                try await second.claimDueContacts(nowMs: 7_000, limit: 1, excluding: [], for: two, leaseUntilMs: 12_000)
                    .map(\.reference) == [alice])
        }
    }

    @Test(arguments: StoreKind.sharedCases) func aPauseTheAPIImposedOnOneInstanceReachesTheOthers(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            func beat(
                _ store: any SharedStore, _ instance: StoreInstance, at now: Int64, pausedUntil: Int64? = nil
            ) async throws -> ClusterShare {
                var share = try await store.heartbeat(
                    instance, nowMs: now, renewing: [], leaseUntilMs: now + 30_000, liveSinceMs: now - 30_000,
                    rateLimitedUntilMs: pausedUntil)
                share.databaseNowMs = nil  // the server's clock: see heartbeatReadsTheDatabasesClock…
                return share
            }
            #expect(try await beat(second, two, at: 1_000) == ClusterShare(liveInstances: 1))
            // The second ranks after the first (by id) once both are live: the first takes a
            // remainder. The first instance met a 429 that pauses it until 5 000: the second hears of it.
            #expect(
                try await beat(first, one, at: 1_500, pausedUntil: 5_000)
                    == ClusterShare(liveInstances: 2, rateLimitedUntilMs: 5_000))
            #expect(
                try await beat(second, two, at: 2_000)
                    == ClusterShare(liveInstances: 2, rank: 1, rateLimitedUntilMs: 5_000))
            // A later pause of the second's own wins; a pause that is over is none.
            #expect(
                try await beat(second, two, at: 2_500, pausedUntil: 7_000)
                    == ClusterShare(liveInstances: 2, rank: 1, rateLimitedUntilMs: 7_000))
            #expect(try await beat(second, two, at: 7_000) == ClusterShare(liveInstances: 2, rank: 1))
            // An instance no longer live holds no one, whatever it recorded.
            _ = try await beat(first, one, at: 8_000, pausedUntil: 100_000)
            #expect(
                try await beat(second, two, at: 9_000)
                    == ClusterShare(liveInstances: 2, rank: 1, rateLimitedUntilMs: 100_000))
            #expect(try await beat(second, two, at: 40_000) == ClusterShare(liveInstances: 1))
        }
    }

    /// The cluster's time is the database's: each heartbeat reads the server's clock, and says
    /// which leases it renewed (those still its own).
    @Test(arguments: StoreKind.sharedCases) func heartbeatReadsTheDatabasesClockAndNamesTheLeasesItRenewed(
        _ kind: StoreKind
    ) async throws {
        try await kind.withTwoSharedStores { first, second in
            _ = try await first.addContacts([alice, bob], now: 1)
            let claimed = try await first.claimDueContacts(
                nowMs: 1_000, limit: 2, excluding: [], for: one, leaseUntilMs: 31_000)
            let ids = Set(claimed.map(\.id))
            let aliceID = try #require(claimed.first { $0.reference == alice }?.id)
            // The second takes alice over once her lease expired; the first renews only bob.
            _ = try await second.claimDueContacts(
                nowMs: 31_000, limit: 1, excluding: [], for: two, leaseUntilMs: 61_000)
            let before = Int64(Date().timeIntervalSince1970 * 1000)
            // Times passed in a day off (a host whose clock is wrong) change nothing of the reading.
            let share = try await first.heartbeat(
                one, nowMs: 86_400_000, renewing: ids, leaseUntilMs: 86_430_000, liveSinceMs: 0,
                rateLimitedUntilMs: nil)
            let after = Int64(Date().timeIntervalSince1970 * 1000)
            #expect(share.renewed == ids.subtracting([aliceID]))
            // The test server runs on this machine: its clock is this one.
            let databaseNow = try #require(share.databaseNowMs)
            #expect(databaseNow >= before - 1_000 && databaseNow <= after + 1_000)
        }
    }

}
