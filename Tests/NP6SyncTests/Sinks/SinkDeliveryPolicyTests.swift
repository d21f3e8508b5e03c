import Config
import NP6Model
import SQLiteStore
import SyncStore
import Testing

@testable import NP6Sync
@testable import Sinks

extension SinkTests {
    @Suite struct SinkDeliveryPolicyTests {
        let policy = SinkDeliveryPolicy(
            backoffBase: .seconds(1), backoffCap: .seconds(60), retryAfterCap: .seconds(600))

        @Test func backoffDoublesWithJitterInItsUpperHalfAndIsCapped() {
            #expect(policy.retryDelay(afterFailures: 1, retryAfter: nil, random: 0) == .milliseconds(500))
            #expect(policy.retryDelay(afterFailures: 1, retryAfter: nil, random: 0.999_999) < .seconds(1))
            #expect(policy.retryDelay(afterFailures: 2, retryAfter: nil, random: 0) == .seconds(1))
            #expect(policy.retryDelay(afterFailures: 4, retryAfter: nil, random: 0.5) == .seconds(6))
            #expect(policy.retryDelay(afterFailures: 50, retryAfter: nil, random: 0) == .seconds(30))
            #expect(policy.retryDelay(afterFailures: 50, retryAfter: nil, random: 1) == .seconds(60))
        }

        @Test func retryAfterIsAFloorWithACap() {
            #expect(policy.retryDelay(afterFailures: 1, retryAfter: .seconds(30), random: 0) == .seconds(30))
            #expect(policy.retryDelay(afterFailures: 9, retryAfter: .seconds(1), random: 0) == .seconds(30))
            #expect(policy.retryDelay(afterFailures: 1, retryAfter: .seconds(86_400), random: 0) == .seconds(600))
        }
    }
}
