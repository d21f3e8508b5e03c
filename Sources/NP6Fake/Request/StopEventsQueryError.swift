/// Why a stop-events request is a `400 Bad Request`.
enum StopEventsQueryError: Error, Equatable, CustomStringConvertible {
    case badEncoding(String)
    case contactKeyCount(Int)
    case emptyContactKey
    case repeated(String)
    case badTimestamp(String, String)
    case badSort(String)

    var description: String {
        switch self {
        case .badEncoding(let detail): detail
        case .contactKeyCount(let count): "exactly one of id, unicity, hash is required (got \(count))"
        case .emptyContactKey: "the contact identifier is empty"
        case .repeated(let name): "parameter '\(name)' is given more than once"
        case .badTimestamp(let name, let value):
            "parameter '\(name)' is neither a timestamp nor an ISO-8601 date-time: '\(value)'"
        case .badSort(let value): "parameter 'sort' must be 'asc' or 'desc', not '\(value)'"
        }
    }
}
