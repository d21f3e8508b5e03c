import Foundation
import NIOHTTP1
import NP6Client
import NP6Model
import Synchronization

/// The model NP6 API: a population of contacts with their histories, events published live and
/// late, and faults drawn from the world's seed. It answers the engine in the same process,
/// behind the API seam (``SimulatedAPI``), and remembers which events it served.
public final class ModelAPI: Sendable {
    /// How often each fault happens, per request; all zero once the world is quiet.
    public struct Faults: Sendable, Hashable {
        public var transport = 0.0
        public var serverError = 0.0
        public var notFound = 0.0
        public var rateLimited = 0.0
        public var cutBody = 0.0
        public var malformedBody = 0.0
        public var unsorted = 0.0
        public var malformedElement = 0.0

        public static let none = Faults()
        public var isQuiet: Bool { self == .none }
    }

    /// The API's own rate limit: a fixed window, announced in headers of one style.
    public struct RateLimit: Sendable, Hashable {
        public enum ResetStyle: String, Sendable, CaseIterable {
            case secondsFromNow, epochSeconds, epochMilliseconds, zero, negative, garbage, absent
        }
        public var limit: Int
        public var windowMs: Int64
        public var resetStyle: ResetStyle
        public var retryAfterAsDate: Bool
    }

    /// What one request gets back.
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8] = []
        /// Bytes of the body delivered before the connection breaks (`nil`: all of it).
        var deliveredBytes: Int?
        /// The connection breaks with an error after `deliveredBytes` (else the body just ends).
        var breaksWithError = true
        var chunkSizes: [Int] = []
        /// No answer at all (connection refused, timeout before the head).
        var transportFailure = false
        var latency: Duration = .zero
    }

    public struct Contact: Sendable, Hashable {
        public var index: Int
        public var reference: ContactReference
        /// Whether the API knows the contact (unknown ones always get 404).
        public var known: Bool
    }

    private struct State {
        var random: SimulationRandom
        var faults: Faults
        var events: [[ModelEvent]]
        var nextNumber = 0
        /// Event numbers whose whole element was delivered in some 200's body.
        var served: Set<Int> = []
        var requests = 0
        var windowStartMs: Int64 = 0
        var windowCount = 0
        /// Window ends asked for lately: where events at the edge are placed.
        var edges: [Int64] = []
        /// The API's limit per window; raised once the world is quiet.
        var limit: Int
    }

    public let contacts: [Contact]
    public let rateLimit: RateLimit
    /// Ids with a NUL or a lone surrogate (an open issue).
    public let hostileIDs: Bool
    /// Unsorted bodies may be cut off too (an open issue).
    public let cutsUnsortedBodies: Bool
    private let clock: SimulationClock
    private let state: Mutex<State>

    init(
        contacts: [Contact], rateLimit: RateLimit, openIssues: Set<Simulator.OpenIssue>, faults: Faults,
        clock: SimulationClock,
        random: SimulationRandom
    ) {
        self.contacts = contacts
        self.rateLimit = rateLimit
        // Fixed (issue 18): every world has them.
        self.hostileIDs = true
        self.cutsUnsortedBodies = openIssues.contains(.unsortedCheckpoint)
        self.clock = clock
        state = Mutex(State(random: random, faults: faults, events: contacts.map { _ in [] }, limit: rateLimit.limit))
    }

    public var faults: Faults {
        get { state.withLock { $0.faults } }
        set { state.withLock { $0.faults = newValue } }
    }

    public var requests: Int { state.withLock { $0.requests } }

    /// No more faults, and a limit the engine never reaches: what a quiet world needs to catch up.
    func quiet() {
        state.withLock { state in
            state.faults = .none
            state.limit = max(state.limit, 1000)
        }
    }

    /// Every event published so far, by contact.
    public var events: [[ModelEvent]] { state.withLock { $0.events } }

    public var servedNumbers: Set<Int> { state.withLock { $0.served } }

    // MARK: - Publishing

    /// Publishes `count` events for `contact` stamped `timestampMs` (the API's clock) at the
    /// API's time now; with hostile ids, some come with a sibling whose id differs only in its
    /// hostile part.
    func publish(contact: Int, timestamps: [Int64]) {
        let now = clock.trueNowMs
        state.withLock { state in
            for timestamp in timestamps {
                let number = state.nextNumber
                state.nextNumber += 1
                let literal = ModelIDs.literal(number: number, hostile: hostileIDs, random: &state.random)
                state.events[contact].append(
                    ModelEvent(
                        number: number, contact: contact, timestampMs: timestamp, publishedMs: now,
                        payload: Self.render(id: literal, number: number, timestampMs: timestamp, &state.random)))
                if let sibling = Self.sibling(of: literal), state.random.chance(0.5) {
                    let siblingNumber = state.nextNumber
                    state.nextNumber += 1
                    state.events[contact].append(
                        ModelEvent(
                            number: siblingNumber, contact: contact, timestampMs: timestamp, publishedMs: now,
                            payload: Self.render(
                                id: sibling, number: siblingNumber, timestampMs: timestamp, &state.random)))
                }
            }
        }
    }

    /// A timestamp at the edge of a window asked for lately (its end: exclusive there, inclusive
    /// in the next), if any is not in the future.
    func edgeTimestamp() -> Int64? {
        let now = clock.trueNowMs
        return state.withLock { state in
            let usable = state.edges.filter { $0 <= now }
            return usable.isEmpty ? nil : state.random.pick(usable)
        }
    }

    /// The same id with its hostile part changed: distinct for a byte-exact store, equal for one
    /// that replaces what it cannot represent.
    private static func sibling(of literal: String) -> String? {
        for (from, to) in [(#"\u0000"#, #"\u0001"#), (#"\ud800""#, #"\ud801""#), (#"\udc00x"#, #"\udc01x"#)]
        where literal.contains(from) {
            return literal.replacingOccurrences(of: from, with: to)
        }
        return nil
    }

    private static func render(
        id: String, number: Int, timestampMs: Int64, _ random: inout SimulationRandom
    )
        -> [UInt8]
    {
        let space = random.chance(0.2) ? " " : ""
        let fields = [
            "\"id\":\(space)\(id)", "\"timestamp\":\(space)\(timestampMs)", "\"type\":\"stop\"",
            "\"n\":\(number)", "\"identity\":{\"type\":\"\(random.pick(["email", "sms"]))\"}",
        ]
        let ordered = random.chance(0.3) ? fields.shuffled(using: &random) : fields
        return Array("{\(space)\(ordered.joined(separator: ",\(space)"))\(space)}".utf8)
    }

    // MARK: - Answering

    func respond(to query: StopEventsQuery) -> Response {
        let nowMs = clock.trueNowMs
        return state.withLock { state in
            state.requests += 1
            var headers = HTTPHeaders()
            headers.add(name: "Date", value: HTTPDate.format(milliseconds: nowMs))
            var response = Response(status: 200, headers: headers)
            response.latency = .milliseconds(state.random.int(5...400))
            if state.edges.count >= 16 { state.edges.removeFirst() }
            state.edges.append(query.endMs)
            let faults = state.faults
            if state.random.chance(faults.transport) {
                response.transportFailure = true
                return response
            }
            // The API's own limit: a fixed window of `limit` requests.
            if nowMs >= state.windowStartMs + rateLimit.windowMs {
                state.windowStartMs = nowMs - (nowMs - state.windowStartMs) % rateLimit.windowMs
                state.windowCount = 0
            }
            state.windowCount += 1
            let remaining = max(0, state.limit - state.windowCount)
            let resetMs = state.windowStartMs + rateLimit.windowMs
            addRateLimitHeaders(
                &response.headers, limit: state.limit, remaining: remaining, resetMs: resetMs, nowMs: nowMs)
            if state.windowCount > state.limit || state.random.chance(faults.rateLimited) {
                response.status = 429
                let retryMs = state.windowCount > state.limit ? resetMs : nowMs + state.random.int64(1_000...30_000)
                response.headers.add(
                    name: "Retry-After",
                    value: rateLimit.retryAfterAsDate
                        ? HTTPDate.format(milliseconds: retryMs + 999)
                        : "\(max(1, (retryMs - nowMs + 999) / 1000))")
                return response
            }
            guard let contact = contacts.first(where: { $0.reference == query.contact }), contact.known else {
                response.status = 404
                return response
            }
            if state.random.chance(faults.serverError) {
                response.status = state.random.pick([500, 502, 503, 504])
                return response
            }
            if state.random.chance(faults.notFound) {
                response.status = 404
                return response
            }
            var window = state.events[contact.index].filter {
                $0.publishedMs <= nowMs && $0.timestampMs >= query.startMs && $0.timestampMs < query.endMs
            }
            window.sort { ($0.timestampMs, $0.number) < ($1.timestampMs, $1.number) }
            let unsorted = window.count > 1 && state.random.chance(faults.unsorted)
            if unsorted { window.shuffle(using: &state.random) }
            // The body, and where each event's element ends in it.
            var body: [UInt8] = [UInt8(ascii: "[")]
            var ends: [(number: Int, end: Int)] = []
            var first = true
            func separate(_ state: inout State) {
                if !first { body.append(UInt8(ascii: ",")) }
                if state.random.chance(0.1) { body.append(contentsOf: Array(" \n".utf8)) }
                first = false
            }
            for event in window {
                if state.random.chance(faults.malformedElement) {
                    separate(&state)
                    body += Array(state.random.pick(Self.malformedElements).utf8)
                }
                separate(&state)
                body += event.payload
                ends.append((event.number, body.count))
            }
            if state.random.chance(faults.malformedBody) {
                separate(&state)
                body += Array(state.random.pick(["@", "{\"id\":}", "]]", "nul"]).utf8)
            }
            body.append(UInt8(ascii: "]"))
            // An unsorted body cut off before its disorder shows is checkpointed as if sorted: an
            // open issue (docs/RELIABILITY.md, "What it found").
            if body.count > 2, !unsorted || cutsUnsortedBodies, state.random.chance(faults.cutBody) {
                response.deliveredBytes = state.random.int(1...(body.count - 1))
                response.breaksWithError = state.random.chance(0.7)
            }
            let delivered = response.deliveredBytes ?? body.count
            for (number, end) in ends where end <= delivered { state.served.insert(number) }
            var left = delivered
            while left > 0 {
                let size = min(left, state.random.pick([1, 7, 64, 512, 4096]))
                response.chunkSizes.append(size)
                left -= size
            }
            response.body = body
            return response
        }
    }

    private static let malformedElements = [
        #"{"timestamp":1}"#, #"{"id":"x","timestamp":"12"}"#, "42", #""text""#, "null", #"{"id":null,"timestamp":3}"#,
    ]

    private func addRateLimitHeaders(
        _ headers: inout HTTPHeaders, limit: Int, remaining: Int, resetMs: Int64, nowMs: Int64
    ) {
        let reset: String? =
            switch rateLimit.resetStyle {
            case .secondsFromNow: "\(max(0, (resetMs - nowMs + 999) / 1000))"
            case .epochSeconds: "\((resetMs + 999) / 1000)"
            case .epochMilliseconds: "\(resetMs)"
            case .zero: "0"
            case .negative: "-5"
            case .garbage: "soon"
            case .absent: nil
            }
        guard let reset else { return }
        headers.add(name: "X-RateLimit-Limit", value: "\(limit)")
        headers.add(name: "X-RateLimit-Remaining", value: "\(remaining)")
        headers.add(name: "X-RateLimit-Reset", value: reset)
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the `Date` and `Retry-After` format.
enum HTTPDate {
    static func format(milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(names[Int(weekday)]), \(two(day)) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
