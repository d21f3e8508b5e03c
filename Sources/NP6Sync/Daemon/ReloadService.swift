import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals
import NP6Client
import Sinks

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
