/// The validated parameters of `GET /targets/events/responses/stop`.
struct StopEventsQuery: Sendable, Equatable {
    enum ContactKey: Sendable, Equatable {
        case id(String)
        case unicity(String)
        case hash(String)
    }

    enum Sort: String, Sendable {
        case asc
        case desc
    }

    var contact: ContactKey
    /// Inclusive lower bound on the timestamp, in ms.
    var startMs: Int64?
    /// Exclusive upper bound on the timestamp, in ms.
    var endMs: Int64?
    /// `nil`: no guaranteed order, and a different one on each request.
    var sort: Sort?
    /// Whether `start` / `end` were written as integers (not ISO-8601).
    var startIsInteger = false
    var endIsInteger = false

    /// Validates decoded query parameters; unknown parameters are ignored, as most APIs do.
    init(parameters: [(name: String, value: String)]) throws(StopEventsQueryError) {
        func single(_ name: String) throws(StopEventsQueryError) -> String? {
            let values = parameters.filter { $0.name == name }.map(\.value)
            guard values.count <= 1 else { throw .repeated(name) }
            return values.first
        }
        let keys: [ContactKey] = try [
            single("id").map(ContactKey.id), single("unicity").map(ContactKey.unicity),
            single("hash").map(ContactKey.hash),
        ].compactMap { $0 }
        guard keys.count == 1, let key = keys.first else { throw .contactKeyCount(keys.count) }
        switch key {
        case .id(let value), .unicity(let value), .hash(let value):
            guard !value.isEmpty else { throw .emptyContactKey }
        }
        self.contact = key
        let start = try single("start")
        let end = try single("end")
        self.startMs = try Self.timestamp(start, name: "start")
        self.endMs = try Self.timestamp(end, name: "end")
        self.startIsInteger = start.map(Self.isInteger) ?? false
        self.endIsInteger = end.map(Self.isInteger) ?? false
        if let sort = try single("sort") {
            guard let parsed = Sort(rawValue: sort) else { throw .badSort(sort) }
            self.sort = parsed
        } else {
            self.sort = nil
        }
    }

    /// The bounds an API that reads integers as seconds would use: integers times 1,000.
    func readingIntegersAsSeconds() -> StopEventsQuery {
        var query = self
        if startIsInteger { query.startMs = startMs.map { $0.multipliedReportingOverflow(by: 1000).partialValue } }
        if endIsInteger { query.endMs = endMs.map { $0.multipliedReportingOverflow(by: 1000).partialValue } }
        return query
    }

    private static func isInteger(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    private static func timestamp(_ value: String?, name: String) throws(StopEventsQueryError) -> Int64? {
        guard let value else { return nil }
        guard let milliseconds = TimestampParser.milliseconds(from: value) else { throw .badTimestamp(name, value) }
        return milliseconds
    }
}
