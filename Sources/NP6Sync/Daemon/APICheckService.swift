import Logging
import NP6Model
import ServiceLifecycle
import SyncStore

/// The `check-api` checks, once at the daemon's start (`sync.checkApiOnStart`): a failed one is
/// logged as an error; nothing here stops the daemon.
///
/// With leases (several daemons on one database) it asks only contacts it claimed, as a poll
/// would, so that no contact is asked by two daemons at once: the claims join the instance's
/// ``ContactLeases``, which its heartbeat renews for as long as the checks take; a request goes
/// out only while its contact's lease has time left (the checks stop otherwise); and it gives
/// them up when done, each with its lease token, so that a lease another instance (or this
/// one's scheduler) took meanwhile stays theirs. Its times are the cluster's (`ClusterClock`).
struct APICheckService: Service {
    let checker: APIChecker
    let database: any ContactStore
    let logger: Logger
    let clusterClock: ClusterClock
    var leasing: InstanceLease?
    /// The instance's leases, renewed by its scheduler's heartbeat; required with `leasing`.
    var leases: ContactLeases?

    func run() async throws {
        var claimed: [StoredContact] = []
        do {
            let contacts: [StoredContact]
            var checker = checker
            if let leasing, let leases {
                let now = clusterClock.nowMs()
                contacts = try await leasing.store.claimDueContacts(
                    nowMs: now, limit: checker.maxContactsAsked, excluding: [], for: leasing.instance,
                    leaseUntilMs: now + leasing.durationMs)
                leases.hold(contacts, untilMs: now + leasing.durationMs)
                claimed = contacts
                let byReference = Dictionary(
                    contacts.map { ($0.reference, $0) }, uniquingKeysWith: { first, _ in first })
                checker.mayAsk = { [clusterClock] reference in
                    guard let contact = byReference[reference] else { return false }
                    return leases.mayAsk(contact, nowMs: clusterClock.nowMs())
                }
            } else {
                contacts = try await database.contacts(limit: checker.maxContactsAsked, enabledOnly: true)
            }
            if leasing != nil, contacts.isEmpty {
                logger.info("API check skipped: no due contact was free to ask (the other instances poll them)")
            } else {
                let checker = checker
                // A shutdown does not wait for the checks: they are cancelled.
                let report = try await cancelWhenGracefulShutdown {
                    try await checker.run(contacts: contacts.map(\.reference))
                }
                log(report)
            }
        } catch is CancellationError {
            await release(claimed)
            return
        } catch let error as APIChecker.LeaseLost {
            logger.warning(
                "API check stopped: this instance no longer holds the lease of a contact it was asking",
                metadata: ["contact.kind": "\(error.contact.kind.rawValue)", "contact.value": "\(error.contact.value)"])
        } catch {
            logger.warning("Could not check the API's assumptions", metadata: ["error": "\(error)"])
        }
        await release(claimed)
        // Done: wait for this service's turn to stop. One that returns while the group is
        // shutting another service down makes the group fail ("finished unexpectedly").
        try? await gracefulShutdown()
    }

    /// Frees the contacts claimed for the checks, each with its lease token, so that they are
    /// polled at once; if that fails, they are after their lease.
    private func release(_ claimed: [StoredContact]) async {
        guard let leasing, !claimed.isEmpty else { return }
        for contact in claimed { leases?.forget(contact.id, token: contact.leaseToken) }
        do {
            try await leasing.store.releaseLeases(claimed.map(\.pollTarget), of: leasing.instance)
        } catch {
            logger.warning(
                "Could not give up the leases of the contacts the API check asked", metadata: ["error": "\(error)"])
        }
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
