import Logging
import NP6Model
import ServiceLifecycle
import SyncStore

/// Adds the configured contacts that the database refused at start (locked by a long import,
/// say), retrying with backoff until it accepts them or the daemon stops; meanwhile the stored
/// contacts are polled.
struct ContactsAddingService: Service {
    let database: any ContactStore
    let contacts: [ContactReference]
    let logger: Logger
    var clock: any Clock<Duration> = ContinuousClock()
    var firstDelay: Duration = .seconds(1)
    var maxDelay: Duration = .seconds(60)

    func run() async throws {
        var delay = firstDelay
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { [clock, delay] in try await clock.sleep(for: delay) }
            do {
                let added = try await database.addContacts(contacts, now: WallClock.nowMs())
                logger.info(
                    "The configured contacts were added",
                    metadata: ["contacts.added": "\(added.added)", "contacts.reenabled": "\(added.reenabled)"])
                break
            } catch {
                logger.warning("The configured contacts could not be added yet", metadata: ["error": "\(error)"])
                delay = min(maxDelay, delay * 2)
            }
        }
        // Done: wait for this service's turn to stop. One that returns while the group is
        // shutting another service down makes the group fail ("finished unexpectedly").
        try? await gracefulShutdown()
    }
}
