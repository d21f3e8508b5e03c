import Config
import NP6Client
import NP6Model
import SQLiteStore
import Sinks
import SyncStore
import Testing

@testable import NP6Sync

@Suite struct SyncWindowTests {
    let policy = WindowPolicy(initialStartMs: 1_000, lookbackMs: 900_000, maxWindowMs: 0)

    @Test func neverSyncedContactStartsAtInitialStart() {
        #expect(
            SyncWindow.first(watermarkMs: nil, nowMs: 5_000_000, policy: policy)
                == SyncWindow(startMs: 1_000, endMs: 5_000_000))
    }

    @Test func syncedContactRereadsTheLookback() {
        let window = SyncWindow.first(watermarkMs: 4_000_000, nowMs: 5_000_000, policy: policy)
        #expect(window == SyncWindow(startMs: 3_100_000, endMs: 5_000_000))
    }

    @Test func lookbackNeverGoesBeforeInitialStart() {
        let window = SyncWindow.first(watermarkMs: 500_000, nowMs: 5_000_000, policy: policy)
        #expect(window?.startMs == 1_000)
    }

    @Test func lookbackDoesNotOverflowNearTheMinimum() {
        let policy = WindowPolicy(initialStartMs: Int64.min, lookbackMs: 900_000)
        let window = SyncWindow.first(watermarkMs: Int64.min + 5, nowMs: 0, policy: policy)
        #expect(window?.startMs == Int64.min)
    }

    @Test func nothingToAskWhenTheStartIsNotInThePast() {
        #expect(SyncWindow.first(watermarkMs: nil, nowMs: 1_000, policy: policy) == nil)
        let future = WindowPolicy(initialStartMs: 9_000, lookbackMs: 0)
        #expect(SyncWindow.first(watermarkMs: nil, nowMs: 5_000, policy: future) == nil)
    }

    @Test func longGapIsSlicedAndLaterWindowsStartWhereTheLastEnded() {
        // A maxWindow shorter than the lookback still makes progress: the lookback applies once.
        let sliced = WindowPolicy(initialStartMs: 0, lookbackMs: 900_000, maxWindowMs: 600_000)
        var windows: [SyncWindow] = []
        var window = SyncWindow.first(watermarkMs: 2_000_000, nowMs: 3_000_000, policy: sliced)
        while let current = window {
            windows.append(current)
            window = current.next(nowMs: 3_000_000, policy: sliced)
        }
        #expect(
            windows == [
                SyncWindow(startMs: 1_100_000, endMs: 1_700_000),
                SyncWindow(startMs: 1_700_000, endMs: 2_300_000),
                SyncWindow(startMs: 2_300_000, endMs: 2_900_000),
                SyncWindow(startMs: 2_900_000, endMs: 3_000_000),
            ])
    }

    @Test func unlimitedWindowIsOneRequest() {
        let window = SyncWindow.first(watermarkMs: nil, nowMs: 10_000_000_000, policy: policy)
        #expect(window?.next(nowMs: 10_000_000_000, policy: policy) == nil)
    }
}

@Suite struct SchedulePolicyTests {
    let policy = SchedulePolicy(
        intervalMs: 300_000, jitterMs: 30_000, notFoundRecheckMs: 86_400_000, backoffBaseMs: 30_000,
        backoffCapMs: 3_600_000)

    @Test func successIsDueAfterTheIntervalPlusJitter() {
        #expect(policy.nextDueMs(after: .caughtUp, failuresBefore: 0, nowMs: 0, random: 0) == 300_000)
        #expect(policy.nextDueMs(after: .caughtUp, failuresBefore: 0, nowMs: 0, random: 0.999) < 330_000)
        #expect(policy.nextDueMs(after: .caughtUp, failuresBefore: 0, nowMs: 0, random: 0.5) == 315_000)
    }

    @Test func notFoundIsRecheckedDaily() {
        #expect(policy.nextDueMs(after: .notFound, failuresBefore: 3, nowMs: 10, random: 0.5) == 86_400_010)
    }

    @Test func backoffDoublesUpToTheCap() {
        let failure = PollResult.failed(.serverError(status: 503))
        let delays = (0..<10).map { policy.nextDueMs(after: failure, failuresBefore: $0, nowMs: 0, random: 0.999_999) }
        #expect(delays[0] <= 30_000 && delays[0] >= 29_000)
        #expect(delays[1] <= 60_000 && delays[1] >= 59_000)
        #expect(delays[9] <= 3_600_000 && delays[9] >= 3_599_000)
        let lowest = (0..<10).map { policy.nextDueMs(after: failure, failuresBefore: $0, nowMs: 0, random: 0) }
        #expect(lowest[0] == 15_000)
        #expect(lowest[9] == 1_800_000)
        #expect(policy.nextDueMs(after: failure, failuresBefore: 10_000, nowMs: 0, random: 0) == 1_800_000)
    }

    @Test func rateLimitedWaitsForTheAPIsPause() {
        let info = RateLimitInfo(retryAtMs: 500_000)
        #expect(policy.nextDueMs(after: .rateLimited(info), failuresBefore: 0, nowMs: 0, random: 0) == 500_000)
        #expect(policy.nextDueMs(after: .rateLimited(nil), failuresBefore: 0, nowMs: 0, random: 0) == 30_000)
    }
}
