import Foundation
import Logging
import NP6Client
import Prometheus
import ServiceLifecycle
import Sinks
import UnixSignals

/// Reloads the configuration on each SIGHUP until graceful shutdown.
struct ReloadService: Service {
    let reload: @Sendable () async -> Void
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.info("SIGHUP: reloading the configuration")
            await reload()
        }
    }
}
