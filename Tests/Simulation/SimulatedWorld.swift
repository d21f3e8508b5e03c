import NP6Model

/// Everything a seed fixes before the run starts: the population, the engine's settings, how
/// the API, the database and the sinks misbehave, and how long the run lasts.
struct SimulatedWorld: Sendable {
    var contacts: [ModelAPI.Contact]
    var history: [[Int64]]
    var windows: (initialStartMs: Int64, lookbackMs: Int64, maxWindowMs: Int64)
    var requestsPerSecond: Int
    var rateLimit: ModelAPI.RateLimit
    var apiFaults: ModelAPI.Faults
    var storeFaults: FaultyStore.Faults
    var crashChance: Double
    var sinks: [(name: String, batchSize: Int, deadLetter: Bool, behaviour: ModelSink.Behaviour)]
    var steps: Int
    var localOffsets: [Int64]

    static let startMs: Int64 = 1_760_000_000_000

    /// - Parameter openIssues: also draw worlds that meet issues still open (see ``Simulator/Options``).
    init(random: inout SimulationRandom, openIssues: Set<Simulator.OpenIssue>) {
        let known = random.int(1...8)
        let unknown = random.chance(0.3) ? random.int(1...2) : 0
        contacts = (0..<(known + unknown)).map { index in
            let kind = random.pick(ContactKind.allCases)
            let value =
                switch kind {
                case .id: "\(100_000 + index)"
                case .unicity: "person\(index)@example.test"
                case .hash: "h\(String(random.next() % 0xFFFF_FFFF, radix: 16))-\(index)"
                }
            return ModelAPI.Contact(
                index: index, reference: ContactReference(kind: kind, value: value), known: index < known)
        }
        let day: Int64 = 86_400_000
        history = contacts.map { contact in
            guard contact.known else { return [] }
            var stamps: [Int64] = []
            for _ in 0..<random.int(0...6) {
                if let last = stamps.last, random.chance(0.25) {
                    stamps.append(last)  // a tie
                } else {
                    stamps.append(Self.startMs - random.int64(1...(30 * day)))
                }
            }
            return stamps
        }
        // A sliced backfill from 1970 would take 20,000 windows a contact: slices start near the history.
        let maxWindowMs: Int64 = random.pick([0, 0, day, 7 * day])
        windows = (
            initialStartMs: maxWindowMs == 0 && random.chance(0.7) ? 0 : Self.startMs - random.int64(1...40) * day,
            lookbackMs: random.pick([60_000, 300_000, 900_000]),
            maxWindowMs: maxWindowMs
        )
        requestsPerSecond = random.int(1...20)
        rateLimit = ModelAPI.RateLimit(
            limit: random.int(3...40), windowMs: random.int64(1...60) * 1000,
            resetStyle: random.pick(ModelAPI.RateLimit.ResetStyle.allCases), retryAfterAsDate: random.chance(0.5))
        func rate(_ max: Double) -> Double { random.chance(0.5) ? random.unit() * max : 0 }
        apiFaults = ModelAPI.Faults(
            transport: rate(0.1), serverError: rate(0.15), notFound: rate(0.05), rateLimited: rate(0.1),
            cutBody: rate(0.2), malformedBody: rate(0.1), unsorted: rate(0.2), malformedElement: rate(0.1))
        storeFaults = FaultyStore.Faults(
            writeRefused: rate(0.08), readFailed: rate(0.05), sinkCallFailed: rate(0.1), cursorAnswerLost: rate(0.1))
        crashChance = random.chance(0.5) ? random.unit() * 0.4 : 0
        if !openIssues.contains(.unsortedCheckpoint), storeFaults.writeRefused > 0 || crashChance > 0 {
            // A body whose disorder shows after a checkpoint, whose rewind then fails to commit
            // (refused, or a crash), leaves the watermark past events it served: an open issue
            // (docs/RELIABILITY.md, "What it found").
            apiFaults.unsorted = 0
        }
        sinks = (0..<random.int(1...3)).map { index in
            let rejecting = random.chance(0.3)
            return (
                name: "sink\(index)", batchSize: random.pick([1, 2, 5, 20, 100]), deadLetter: rejecting,
                behaviour: ModelSink.Behaviour(
                    failure: rate(0.3), answerLost: rate(0.2), rejectEvery: rejecting ? random.int(3...7) : 0)
            )
        }
        steps = random.int(3...12)
        // An absolute `X-RateLimit-Reset` is read on the local clock: one that is minutes off
        // makes the pacer wait minutes too long per window, or not at all (an open issue).
        let absoluteReset = [.epochSeconds, .epochMilliseconds].contains(rateLimit.resetStyle)
        let minutesOff = openIssues.contains(.skewedReset) || !absoluteReset
        localOffsets = (0...steps).map { _ in
            switch random.int(0...9) {
            case 0...5: 0
            case 6, 7: random.int64(-9_000...9_000)  // within ClockSkewGuard.boundMs
            default: minutesOff ? random.int64(-1_800_000...1_800_000) : random.int64(-9_000...9_000)
            }
        }
    }

    var summary: String {
        let known = contacts.filter(\.known).count
        return "world: \(known) known + \(contacts.count - known) unknown contacts, "
            + "\(history.map(\.count).reduce(0, +)) events in history, \(steps) steps, "
            + "lookback \(windows.lookbackMs / 1000) s, maxWindow \(windows.maxWindowMs / 1000) s, "
            + "initialStart \(windows.initialStartMs), \(requestsPerSecond) req/s, "
            + "API limit \(rateLimit.limit)/\(rateLimit.windowMs / 1000) s reset \(rateLimit.resetStyle.rawValue), "
            + "API faults \(apiFaults), store faults \(storeFaults), crash chance \(crashChance), "
            + "sinks \(sinks.map { "\($0.name) batch \($0.batchSize) \($0.behaviour)" })"
    }
}
