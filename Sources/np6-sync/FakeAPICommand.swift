import ArgumentParser
import Foundation
import Logging
import NP6Fake
import NP6Sync

struct FakeAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-api",
        abstract: "Serve the fake NP6 API (for tests, demos and benchmarks).",
        discussion: """
            The key it accepts is read from the environment variable NP6_FAKE_API_KEY \
            (default "fake-np6-key"), never from the command line. Besides the NP6 route it serves \
            GET /_fake/contacts, GET /_fake/events, POST /_fake/publish?count=N&late=F and GET /_fake/stats \
            (requests by status, and the most requests for one contact ever in flight at once).
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (printed on stdout).")
    var port = 8080

    @Option(help: "How many contacts to serve.")
    var contacts = 50

    @Option(help: "Seed of the generated contacts and events.")
    var seed: UInt64 = 1

    @Option(help: "Events per contact, e.g. 0-3 or 200.")
    var eventsPerContact = "0-3"

    @Option(help: "Delay before each response head, in milliseconds.")
    var latencyMs = 0

    @Option(help: "Requests per second before answering 429 (off when absent).")
    var rateLimit: Int?

    @Option(help: "How the rate limit is kept: fixed-window (1 s) or token-bucket.")
    var rateLimitKind: RateLimitKindArgument = .fixedWindow

    @Option(help: "The token bucket's capacity (default: one second's worth).")
    var rateLimitBurst: Int?

    @Option(help: "Fraction of requests answered 500/503.")
    var errorRate = 0.0

    @Option(help: "Fraction of array elements that are malformed.")
    var malformedRate = 0.0

    @Option(help: "Fraction of connections dropped mid-body.")
    var dropRate = 0.0

    @Option(help: "Fraction of sort=asc responses sent out of order anyway.")
    var unsortedRate = 0.0

    @Option(help: "Fraction of elements sent twice in a row.")
    var duplicateRate = 0.0

    @Option(help: "Fraction of 200 bodies pretty-printed: each element over several indented lines.")
    var prettyRate = 0.0

    @Option(help: "New stop events arriving per second while serving.")
    var liveEventsPerSecond = 0.0

    @Option(help: "Fraction of live events that arrive late (stamped up to 10 minutes in the past).")
    var lateFraction = 0.0

    func validate() throws {
        guard contacts >= 0 else { throw ValidationError("--contacts must not be negative") }
        guard eventsRange != nil else {
            throw ValidationError("--events-per-contact takes N or MIN-MAX, e.g. 0-3 or 200")
        }
        for (name, rate) in [
            ("--error-rate", errorRate), ("--malformed-rate", malformedRate), ("--drop-rate", dropRate),
            ("--late-fraction", lateFraction),
            ("--unsorted-rate", unsortedRate), ("--duplicate-rate", duplicateRate),
            ("--pretty-rate", prettyRate),
        ]
        where !(0...1).contains(rate) {
            throw ValidationError("\(name) must be between 0 and 1")
        }
    }

    private var eventsRange: ClosedRange<Int>? {
        let parts = eventsPerContact.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        switch parts.count {
        case 1: if let n = parts[0], n >= 0 { return n...n }
        case 2: if let low = parts[0], let high = parts[1], 0 <= low, low <= high { return low...high }
        default: break
        }
        return nil
    }

    func run() async throws {
        let logger = bootstrapLogging(level: .info, format: .logfmt)
        var configuration = FakeNP6Configuration()
        configuration.seed = seed
        configuration.contactCount = contacts
        configuration.eventsPerContact = eventsRange ?? 0...3
        if let key = ProcessInfo.processInfo.environment["NP6_FAKE_API_KEY"], !key.isEmpty {
            configuration.apiKey = key
        }
        configuration.knobs.latencyMs = latencyMs
        configuration.knobs.rateLimitPerSecond = rateLimit
        configuration.knobs.rateLimitKind = rateLimitKind.kind
        configuration.knobs.rateLimitBurst = rateLimitBurst
        configuration.knobs.serverErrorRate = errorRate
        configuration.knobs.malformedElementRate = malformedRate
        configuration.knobs.dropConnectionRate = dropRate
        configuration.knobs.liveEventsPerSecond = liveEventsPerSecond
        configuration.knobs.lateFraction = lateFraction
        configuration.knobs.unsortedBodyRate = unsortedRate
        configuration.knobs.duplicateElementRate = duplicateRate
        configuration.knobs.prettyBodyRate = prettyRate
        let server = FakeNP6Server(configuration: configuration, logger: logger)
        let host = host
        try await runReportingErrors {
            try await server.run(host: host, port: port) { port in
                // Unbuffered: whoever started the fake waits for this line to learn the port.
                FileHandle.standardOutput.write(Data("fake NP6 API listening on http://\(host):\(port)\n".utf8))
            }
        }
    }
}

/// `--rate-limit-kind`.
enum RateLimitKindArgument: String, ExpressibleByArgument, CaseIterable {
    case fixedWindow = "fixed-window"
    case tokenBucket = "token-bucket"

    var kind: FakeNP6Knobs.RateLimitKind {
        switch self {
        case .fixedWindow: .fixedWindow
        case .tokenBucket: .tokenBucket
        }
    }
}
