import SyncStore
import Testing
import _ConnectionPoolModule

@testable import PostgresStore

/// The one error PostgresStore reads from PostgresNIO's underscored pool module (Package.swift
/// says why): a pool whose connection attempts keep failing is a lost server, which the daemon
/// backs off on, never a failure of one write.
@Suite struct PostgresErrorMappingTests {
    @Test func poolThatCannotConnectIsAnUnreachableServer() {
        let error = PostgresEventStore.storeError(ConnectionPoolError.connectionCreationCircuitBreakerTripped)
        guard case .unavailable(.unreachable, let message) = error as? SyncStoreError else {
            Issue.record("mapped to \(error)")
            return
        }
        #expect(message.contains("no connection to the server"))
    }

    @Test func otherErrorsPassUnchanged() {
        struct Unrelated: Error {}
        #expect(PostgresEventStore.storeError(Unrelated()) is Unrelated)
    }
}
