import NP6Client
import NP6Model

/// `np6-sync check-api`: checks online, with the user's key, the assumptions about the API that
/// sync relies on, each with what was sent and what came back.
///
/// It reads the whole history of a few contacts to find one with an event (and one with several,
/// for the sort check), then asks narrow windows around an event's timestamp T:
/// - the key is accepted (no 401/403);
/// - integer bounds are milliseconds: `[T − 500, T + 500)` holds the event (read as seconds, it
///   would be a window thousands of years away);
/// - `start` is inclusive: `[T, T + 1)` holds it; `end` is exclusive: `[T − 1000, T)` does not;
/// - ISO-8601 bounds agree with integer ones over the same whole seconds;
/// - `sort=asc` is honoured on a history of several events;
/// - the history without bounds equals the union of two windows that split it.
public struct APIChecker: Sendable {
    public var client: any StopEventsAPI
    /// How many contacts' histories may be read to find events.
    public var maxContactsAsked = 20
    /// Paces the requests like sync does (`api.requestsPerSecond`).
    public var pacer: RequestPacer?
    /// Whether a request for the contact may go out; when not, ``run(contacts:)`` throws
    /// ``LeaseLost`` (the daemon's start-up check, once its lease on the contact runs low).
    public var mayAsk: @Sendable (ContactReference) -> Bool = { _ in true }

    /// The checks stopped: `contact` may no longer be asked (``mayAsk``).
    public struct LeaseLost: Error {
        public var contact: ContactReference
    }

    public init(client: any StopEventsAPI, pacer: RequestPacer? = nil) {
        self.client = client
        self.pacer = pacer
    }

    /// One assumption and how it fared. `passed == nil`: it could not be checked.
    public struct Check: Sendable, Hashable {
        public var assumption: String
        public var passed: Bool?
        /// The requests made (paths and queries; the key is only ever in a header).
        public var sent: [String]
        public var received: String
        /// What sync would get wrong if the assumption does not hold.
        public var consequence: String
    }

    public struct Report: Sendable {
        public var checks: [Check] = []
        /// Set when the API refused the key: nothing else was checked.
        public var unauthorizedStatus: Int?
        public var failed: [Check] { checks.filter { $0.passed == false } }
        public var unchecked: [Check] { checks.filter { $0.passed == nil } }
    }

    /// What one request returned.
    private struct Answer {
        var query: StopEventsQuery
        var events: [StopEvent] = []
        var error: NP6ClientError?
        var ids: Set<String> { Set(events.map(\.id)) }
        var sent: String { "GET \(StopEventsQuery.path)?\(query.queryString)" }
        var summary: String {
            if let error { return error.description }
            let shown = events.prefix(3).map { "\($0.id)@\($0.timestampMs)" }.joined(separator: ", ")
            return "200, \(events.count) event\(events.count == 1 ? "" : "s")"
                + (events.isEmpty ? "" : ": \(shown)\(events.count > 3 ? ", …" : "")")
        }
    }

    private func ask(_ query: StopEventsQuery) async throws -> Answer {
        guard mayAsk(query.contact) else { throw LeaseLost(contact: query.contact) }
        let ticket = try await pacer?.acquire()
        guard mayAsk(query.contact) else {
            if let ticket { await pacer?.finish(ticket) }
            throw LeaseLost(contact: query.contact)
        }
        var answer = Answer(query: query)
        let observe: (Int, RateLimitInfo?) async -> Void = { [pacer] status, rateLimit in
            if let ticket { await pacer?.observe(ticket, rateLimit, rateLimited: status == 429) }
        }
        do {
            try await client.fetchStopEvents(query, onHead: observe) { batch, _ in answer.events += batch.events }
        } catch let error as NP6ClientError {
            answer.error = error
        }
        if let ticket { await pacer?.finish(ticket) }
        return answer
    }

    /// Runs the checks, reading the histories of `contacts` (in order) to find events.
    public func run(contacts: [ContactReference]) async throws -> Report {
        var report = Report()
        var single: Answer?
        var several: Answer?
        var asked: [String] = []
        var lastError: String?
        var answered = false  // an answer that is not a refused key, a 5xx or a network error
        for contact in contacts.prefix(maxContactsAsked) where single == nil || several == nil {
            let answer = try await ask(.wholeHistory(of: contact))
            asked.append(answer.sent)
            if case .unauthorized(let status) = answer.error {
                report.unauthorizedStatus = status
                report.checks.append(
                    Check(
                        assumption: "the API key is accepted", passed: false, sent: [answer.sent],
                        received: answer.summary, consequence: "sync can read nothing"))
                return report
            }
            if let error = answer.error {
                if case .contactNotFound = error { answered = true }
                lastError = error.description
                continue
            }
            answered = true
            if single == nil, !answer.events.isEmpty { single = answer }
            if several == nil, Set(answer.events.map(\.timestampMs)).count >= 2 { several = answer }
        }
        report.checks.append(
            Check(
                assumption: "the API key is accepted",
                passed: answered ? true : nil, sent: Array(asked.prefix(1)),
                received: answered ? "answers other than 401/403" : "no answer: \(lastError ?? "no contact to ask")",
                consequence: "sync can read nothing"))
        guard let single, let event = single.events.first else {
            report.checks.append(
                Check(
                    assumption: "a contact with events to check against", passed: nil, sent: asked,
                    received: "none of the \(asked.count) contacts asked has an event"
                        + (lastError.map { " (last error: \($0))" } ?? ""),
                    consequence: "nothing could be checked; name a contact with events: --contact KIND:VALUE"))
            return report
        }
        report.checks += try await windowChecks(around: event, of: single.query.contact)
        report.checks += try await historyChecks(several)
        return report
    }

    /// The checks that ask narrow windows around `event`.
    private func windowChecks(around event: StopEvent, of contact: ContactReference) async throws -> [Check] {
        let t = event.timestampMs
        var checks: [Check] = []
        func window(_ start: Int64, _ end: Int64, iso: Bool = false) async throws -> Answer {
            try await ask(
                StopEventsQuery(
                    contact: contact, startMs: start, endMs: end, boundsFormat: iso ? .iso8601 : .milliseconds))
        }
        func holds(_ answer: Answer, _ expected: Bool) -> Bool? {
            answer.error == nil ? answer.ids.contains(event.id) == expected : nil
        }
        let around = try await window(t - 500, t + 500)
        checks.append(
            Check(
                assumption: "integer start/end are milliseconds (event \(event.id) at \(t) is in [T−500, T+500))",
                passed: holds(around, true), sent: [around.sent], received: around.summary,
                consequence: "sync would ask for windows far from the events and store none of them"))
        let from = try await window(t, t + 1)
        checks.append(
            Check(
                assumption: "start is inclusive (the event at T is in [T, T+1))", passed: holds(from, true),
                sent: [from.sent], received: from.summary,
                consequence: "an event stamped exactly at a watermark would never be stored"))
        let before = try await window(t - 1000, t)
        checks.append(
            Check(
                assumption: "end is exclusive (the event at T is not in [T−1000, T))", passed: holds(before, false),
                sent: [before.sent], received: before.summary,
                consequence: "events stamped exactly at a window's end are read twice (stored once: harmless "
                    + "duplicates, counted as such)"))
        let second = t - ((t % 1000) + 1000) % 1000
        let integer = try await window(second, second + 1000)
        let iso = try await window(second, second + 1000, iso: true)
        checks.append(
            Check(
                assumption: "ISO-8601 bounds agree with integer ones (the same second)",
                passed: integer.error == nil && iso.error == nil ? integer.ids == iso.ids : nil,
                sent: [integer.sent, iso.sent], received: "integer: \(integer.summary); ISO-8601: \(iso.summary)",
                consequence: "the API's units are not what its docs say; sync sends integers, so trust only "
                    + "the integer checks above"))
        return checks
    }

    /// The checks on a whole history of several events.
    private func historyChecks(_ several: Answer?) async throws -> [Check] {
        guard let several else {
            let missing = "none of the contacts asked has events at two different times"
            return [
                Check(
                    assumption: "sort=asc is honoured", passed: nil, sent: [], received: missing,
                    consequence: "not checked; name a contact with several events: --contact KIND:VALUE"),
                Check(
                    assumption: "the history without bounds equals the union of windows", passed: nil, sent: [],
                    received: missing, consequence: "not checked"),
            ]
        }
        let stamps = several.events.map(\.timestampMs)
        let sorted = zip(stamps, stamps.dropFirst()).allSatisfy { $0 <= $1 }
        var checks = [
            Check(
                assumption: "sort=asc is honoured", passed: sorted, sent: [several.sent], received: several.summary,
                consequence: "sync stays exact (it never checkpoints inside an unsorted body) but a body cut "
                    + "mid-way is re-read from the window's start")
        ]
        let low = stamps.min()!
        let high = stamps.max()!
        let middle = stamps.sorted()[stamps.count / 2]
        let contact = several.query.contact
        let first = try await ask(StopEventsQuery(contact: contact, startMs: low, endMs: middle))
        let last = try await ask(StopEventsQuery(contact: contact, startMs: middle, endMs: high + 1))
        let union = first.ids.union(last.ids)
        checks.append(
            Check(
                assumption: "the history without bounds equals the union of windows",
                passed: first.error == nil && last.error == nil
                    ? union == several.ids && first.ids.isDisjoint(with: last.ids) : nil,
                sent: [several.sent, first.sent, last.sent],
                received: "whole history \(several.ids.count) ids; windows \(first.ids.count) + \(last.ids.count), "
                    + "\(union.count) distinct",
                consequence: "sync, which reads windows, would miss or repeat events"))
        return checks
    }
}
