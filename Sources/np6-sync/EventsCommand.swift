import ArgumentParser
import NP6Model
import NP6Sync
import Sinks
import SyncStore

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print stored stop events in arrival order.",
        discussion: """
            With --json each line is the record sinks receive: \
            {"seq": …, "contact": {"kind": …, "value": …}, "event": <the event's JSON as received>}.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "Only the events stored for this contact (KIND:VALUE).")
    var contact: ContactReference?

    @Option(
        help: "Only events stamped at or after this time: ISO-8601, ms since the epoch, or an age like 90m, 24h, 7d.")
    var since: String?

    @Option(help: "At most this many events.")
    var limit: Int?

    @Flag(help: "Print one JSON record per line.")
    var json = false

    func validate() throws {
        if let since, Self.parseSince(since, nowMs: WallClock.nowMs()) == nil {
            throw ValidationError(
                "--since takes an ISO-8601 time, ms since the epoch, or an age like 90m, 24h, 7d; got \"\(since)\"")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        try await options.withRuntime(.reading) { runtime in
            let sinceMs = since.flatMap { Self.parseSince($0, nowMs: WallClock.nowMs()) }
            let json = json
            try await runtime.database.forEachEvent(contact: contact, sinceMs: sinceMs, limit: limit) { event in
                if json {
                    // Not JSONEncoder: the record embeds the stored event verbatim, which it cannot
                    // do, and is byte for byte what the sinks receive (see `recordJSON`).
                    print(event.recordJSON)
                } else {
                    print(
                        "\(event.seq)\t\(Timestamp.iso8601(milliseconds: event.timestampMs))\t\(event.id)\t"
                            + "\(event.contact?.description ?? "-")\t\(event.sourceType ?? "-")")
                }
            }
        }
    }

    /// An absolute time, or an age (`90m`, `24h`, `7d`, `30s`) before `nowMs`.
    static func parseSince(_ text: String, nowMs: Int64) -> Int64? {
        if let unit = text.last, let factor = ["s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000][unit],
            let amount = Int64(text.dropLast()), amount >= 0
        {
            let (age, overflow) = amount.multipliedReportingOverflow(by: Int64(factor))
            return overflow ? nil : nowMs - age
        }
        return Timestamp.parseMilliseconds(text)
    }
}
