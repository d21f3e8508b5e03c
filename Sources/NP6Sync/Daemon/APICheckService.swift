import Logging
import ServiceLifecycle
import SyncStore

/// The `check-api` checks, once at the daemon's start (`sync.checkApiOnStart`): a failed one is
/// logged as an error; nothing here stops the daemon.
struct APICheckService: Service {
    let checker: APIChecker
    let database: any EventStore
    let logger: Logger

    func run() async throws {
        do {
            let contacts = try await database.contacts(limit: checker.maxContactsAsked, enabledOnly: true)
            let checker = checker
            // A shutdown does not wait for the checks: they are cancelled.
            let report = try await cancelWhenGracefulShutdown {
                try await checker.run(contacts: contacts.map(\.reference))
            }
            log(report)
        } catch is CancellationError {
            return
        } catch {
            logger.warning("Could not check the API's assumptions", metadata: ["error": "\(error)"])
        }
        // Done: wait for this service's turn to stop. One that returns while the group is
        // shutting another service down makes the group fail ("finished unexpectedly").
        try? await gracefulShutdown()
    }

    private func log(_ report: APIChecker.Report) {
        for check in report.checks where check.passed != true {
            let metadata: Logger.Metadata = [
                "assumption": "\(check.assumption)", "sent": "\(check.sent.joined(separator: " | "))",
                "received": "\(check.received)", "consequence": "\(check.consequence)",
            ]
            if check.passed == false {
                logger.error("An assumption about the API does not hold", metadata: metadata)
            } else {
                logger.warning("An assumption about the API could not be checked", metadata: metadata)
            }
        }
        if report.failed.isEmpty, report.unchecked.isEmpty {
            logger.info("The API's assumptions hold", metadata: ["checks": "\(report.checks.count)"])
        }
    }
}
