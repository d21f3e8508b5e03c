import NP6Model

/// The query of one request to `GET /targets/events/responses/stop`: a contact and a window.
///
/// `start` and `end` go out as integer milliseconds, the unit events carry, so nothing is lost at
/// the watermark; `sort=asc` always, since without it the API returns events in no stable order.
/// `check-api` also sends them as ISO-8601 date-times, or not at all, to test those assumptions.
public struct StopEventsQuery: Sendable, Hashable {
    public static let path = "/targets/events/responses/stop"

    /// How `start` and `end` are written.
    public enum BoundsFormat: Sendable, Hashable {
        /// Integer milliseconds since 1970: what sync sends.
        case milliseconds
        /// ISO-8601 date-times in UTC, e.g. `2019-08-24T14:15:22Z` (a fraction only when not 0).
        case iso8601
        /// No `start` and no `end`: the contact's whole history.
        case omitted
    }

    public var contact: ContactReference
    /// Inclusive lower bound, ms since the epoch.
    public var startMs: Int64
    /// Exclusive upper bound, ms since the epoch.
    public var endMs: Int64
    public var boundsFormat: BoundsFormat

    public init(contact: ContactReference, startMs: Int64, endMs: Int64, boundsFormat: BoundsFormat = .milliseconds) {
        self.contact = contact
        self.startMs = startMs
        self.endMs = endMs
        self.boundsFormat = boundsFormat
    }

    /// The contact's whole history (no bounds), sorted ascending.
    public static func wholeHistory(of contact: ContactReference) -> StopEventsQuery {
        StopEventsQuery(contact: contact, startMs: 0, endMs: 0, boundsFormat: .omitted)
    }

    /// The percent-encoded query string, e.g. `unicity=a%2Bb%40x.com&start=0&end=10&sort=asc`.
    public var queryString: String {
        let contact = "\(contact.kind.rawValue)=\(Self.percentEncoded(contact.value))"
        switch boundsFormat {
        case .milliseconds:
            return "\(contact)&start=\(startMs)&end=\(endMs)&sort=asc"
        case .iso8601:
            return "\(contact)&start=\(Self.iso8601(startMs))&end=\(Self.iso8601(endMs))&sort=asc"
        case .omitted:
            return "\(contact)&sort=asc"
        }
    }

    private static func iso8601(_ milliseconds: Int64) -> String {
        let text = Timestamp.iso8601(milliseconds: milliseconds)
        return text.hasSuffix(".000Z") ? String(text.dropLast(5)) + "Z" : text
    }

    /// The request URL under `baseURL` (which may carry a path prefix and a trailing slash).
    public func url(baseURL: String) -> String {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        return "\(base)\(Self.path)?\(queryString)"
    }

    /// Encodes every byte outside RFC 3986's unreserved set, so `+`, `@`, `&`, `=`, spaces and
    /// non-ASCII reach the API as the value itself.
    public static func percentEncoded(_ value: String) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
