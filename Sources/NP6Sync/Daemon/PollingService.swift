import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Sinks
import UnixSignals

/// The polling loop as a service of the group; tells systemd when it starts stopping.
struct PollingService: Service {
    let scheduler: PollScheduler
    let notifier: SystemdNotifier?
    let logger: Logger

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await scheduler.run(logger: logger)
        } onGracefulShutdown: {
            notify(notifier, logger) { try $0.stopping() }
        }
    }
}
