import SyncStore
import Testing

@testable import NP6Sync

@Suite struct NotFoundGateTests {
    func notFound(_ contactID: Int64) -> PollWrite {
        .failure(
            contact: PollTarget(id: contactID, generation: 0), status: .notFound, error: "HTTP 404",
            nextDueMs: 86_400_000, now: 0)
    }

    func contactIDs(_ writes: [PollWrite]) -> [Int64] {
        writes.compactMap { if case .failure(let contact, _, _, _, _) = $0 { contact.id } else { nil } }
    }

    @Test func fiveContactsWith404AndNo200AreAMisconfigurationThatWritesNothing() async {
        let gate = NotFoundGate()
        for id in Int64(1)...4 {
            guard case .hold = await gate.notFound(notFound(id), contactID: id) else {
                Issue.record("contact \(id) should be held")
                return
            }
        }
        guard case .misconfigured(let asked) = await gate.notFound(notFound(5), contactID: 5) else {
            Issue.record("the fifth 404 without a 200 is a misconfiguration")
            return
        }
        #expect(asked == 5)
        // A poll in flight meanwhile: dropped, written neither now nor later.
        guard case .hold = await gate.notFound(notFound(6), contactID: 6) else {
            Issue.record("a 404 in flight after the misconfiguration is dropped")
            return
        }
        #expect(await gate.finish().isEmpty, "the held writes are dropped")
        // The next round (a contact asked again) checks from scratch: four more are held, the
        // fifth is the misconfiguration again; contact 6 coming up again releases nothing.
        for id in Int64(6)...9 {
            guard case .hold = await gate.notFound(notFound(id), contactID: id) else {
                Issue.record("contact \(id) should be held in the next round")
                return
            }
        }
        guard case .misconfigured = await gate.notFound(notFound(1), contactID: 1) else {
            Issue.record("the next round finds the misconfiguration again")
            return
        }
    }

    @Test func a200ReleasesTheHeldWritesAndLater404sAreWrittenAtOnce() async {
        let gate = NotFoundGate()
        _ = await gate.notFound(notFound(1), contactID: 1)
        _ = await gate.notFound(notFound(2), contactID: 2)
        // Contact 2's own 200 is newer than its held 404: only contact 1's is released.
        #expect(contactIDs(await gate.answered(contactID: 2)) == [1])
        #expect(await gate.answered(contactID: 3).isEmpty)
        guard case .write(let writes) = await gate.notFound(notFound(4), contactID: 4) else {
            Issue.record("after a 200, a 404 is the contact's")
            return
        }
        #expect(contactIDs(writes) == [4])
    }

    /// A 404 or a 200 to a request that left before a reload re-armed the gate (it may have
    /// gone to the old `api.baseURL`) is dropped: once the new URL's 200 comes, it must not be
    /// released as that contact's `not_found`.
    @Test func answersFromBeforeARearmAreDropped() async {
        let gate = NotFoundGate()
        let before = await gate.round
        await gate.rearm()
        guard case .hold = await gate.notFound(notFound(1), contactID: 1, round: before) else {
            Issue.record("a 404 from before the rearm was not dropped")
            return
        }
        #expect(await gate.answered(contactID: 1, round: before).isEmpty)
        // It confirmed nothing: a 404 of this round is still held, and the next 200 releases only it.
        guard case .hold = await gate.notFound(notFound(2), contactID: 2, round: await gate.round) else {
            Issue.record("a 200 from before the rearm confirmed the new URL")
            return
        }
        #expect(contactIDs(await gate.answered(contactID: 3, round: await gate.round)) == [2])
    }

    @Test func aHeldContactAskedAgainReleasesAll() async {
        // Fewer contacts than the threshold to ask: not enough evidence, so the 404s are written.
        let gate = NotFoundGate()
        _ = await gate.notFound(notFound(1), contactID: 1)
        _ = await gate.notFound(notFound(2), contactID: 2)
        guard case .write(let writes) = await gate.notFound(notFound(1), contactID: 1) else {
            Issue.record("a held contact asked again releases the held writes")
            return
        }
        #expect(contactIDs(writes) == [2, 1])
        #expect(await gate.finish().isEmpty)
    }

    @Test func passEndReleasesWhatIsHeldAndRearmForgetsA200() async {
        let gate = NotFoundGate()
        _ = await gate.notFound(notFound(1), contactID: 1)
        #expect(contactIDs(await gate.finish()) == [1])
        _ = await gate.answered(contactID: 9)
        await gate.rearm()
        guard case .hold = await gate.notFound(notFound(2), contactID: 2) else {
            Issue.record("after rearm, 404s are held again until a 200")
            return
        }
    }
}
