/// Renders events as the JSON NP6 sends: compact, about 400–500 bytes, details varied per event.
///
/// Every detail is derived from the event's id bits, so an event renders to the same bytes on
/// every request. Extra fields beyond the documented envelope (`name`, `origin`, `ip`, …) are
/// there on purpose: a client must keep them. A renderer is made per contact, so the contact's
/// part is encoded once per body, not once per event.
struct EventJSON {
    /// How a malformed element is broken.
    enum Defect: CaseIterable {
        case missingID
        case timestampAsString
        case brokenJSON
    }

    /// `,"recipient":{…}}},` — the contact's part of every event, pre-encoded.
    private let recipient: [UInt8]

    init(contact: FakeContact) {
        var bytes = Array(#","recipient":{"type":"footprint","id":"#.utf8)
        Self.appendString(contact.id, to: &bytes)
        bytes.append(contentsOf: #","unicity":"#.utf8)
        Self.appendString(contact.unicity, to: &bytes)
        bytes.append(contentsOf: #","hash":"#.utf8)
        Self.appendString(contact.hash, to: &bytes)
        bytes.append(contentsOf: "}},".utf8)
        self.recipient = bytes
    }

    func append(_ record: EventRecord, to bytes: inout [UInt8], defect: Defect? = nil) {
        if defect == .brokenJSON {
            bytes.append(contentsOf: Self.broken)
            return
        }
        var details = SeededGenerator(seed: record.idHigh ^ (record.idLow &* 31))
        let isSMS = details.chance(0.25)
        bytes.append(contentsOf: Self.head)
        if defect != .missingID {
            bytes.append(contentsOf: Self.idKey)
            record.appendUUID(to: &bytes)
            bytes.append(contentsOf: Self.quoteComma)
        }
        bytes.append(contentsOf: Self.timestampKey)
        if defect == .timestampAsString {
            bytes.append(UInt8(ascii: "\""))
            Self.appendInteger(record.timestampMs, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        } else {
            Self.appendInteger(record.timestampMs, to: &bytes)
        }
        bytes.append(contentsOf: isSMS ? Self.smsSource : Self.emailSource)
        bytes.append(contentsOf: Self.executions[Int(details.next() % UInt64(Self.executions.count))])
        bytes.append(contentsOf: recipient)
        if isSMS {
            bytes.append(contentsOf: Self.smsDetails[Int(details.next() % UInt64(Self.smsDetails.count))])
            Self.appendInteger(Int64(31000 + details.next() % 9000), to: &bytes)
            bytes.append(contentsOf: Self.smsTail)
        } else {
            bytes.append(contentsOf: Self.emailOrigins[Int(details.next() % UInt64(Self.emailOrigins.count))])
            bytes.append(contentsOf: details.next() % 2 == 0 ? Self.ipPrefixA : Self.ipPrefixB)
            Self.appendInteger(Int64(details.next() % 256), to: &bytes)
            bytes.append(UInt8(ascii: "."))
            Self.appendInteger(Int64(1 + details.next() % 254), to: &bytes)
            bytes.append(contentsOf: Self.userAgents[Int(details.next() % UInt64(Self.userAgents.count))])
        }
    }

    static func append(_ record: EventRecord, of contact: FakeContact, to bytes: inout [UInt8], defect: Defect? = nil) {
        EventJSON(contact: contact).append(record, to: &bytes, defect: defect)
    }

    static func string(_ record: EventRecord, of contact: FakeContact) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        append(record, of: contact, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `value` as a JSON string: quotes, backslashes and control characters escaped,
    /// everything else (including non-ASCII) as raw UTF-8.
    ///
    /// Not the shipping code's `JSONText`, on purpose: the fake stands in for NP6 and writes the
    /// bytes the client's decoder is tested against, so it must not share the client's JSON code
    /// (a shared bug would pass unseen), and it depends on nothing of np6-sync.
    static func appendString(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) {
                bytes.append(buffer[index])
            }
        }
    }

    // Pre-encoded pieces.
    private static let broken = Array(#"{"id": }"#.utf8)
    private static let head = Array(#"{"type":"stop","#.utf8)
    private static let idKey = Array(#""id":""#.utf8)
    private static let quoteComma = Array(#"","#.utf8)
    private static let timestampKey = Array(#""timestamp":"#.utf8)
    private static let identity = #","identity":{"type":"customer","agency":"DEMO","customer":"028"}"#
    private static let emailSource = Array(#"\#(identity),"source":{"type":"email","detail":{"execution":{"id":"#.utf8)
    private static let smsSource = Array(#"\#(identity),"source":{"type":"sms","detail":{"execution":{"id":"#.utf8)
    private static let executions: [[UInt8]] = [
        ("000PE4", "Newsletter mars"),
        ("000PE7", "Soldes d'été — dernière chance"),
        ("000PF1", #"Offre "fidélité" 2024"#),
        ("000PG2", "Relance panier abandonné"),
        ("000PH9", "Invitation webinar \\ replay"),
        ("000PJ3", "Alerte SMS livraison"),
        ("000PK0", "Newsletter hebdo #42"),
        ("000PL8", "Enquête satisfaction"),
    ].map { id, name in
        var bytes: [UInt8] = []
        appendString(id, to: &bytes)
        bytes.append(contentsOf: #","kind":"message","name":"#.utf8)
        appendString(name, to: &bytes)
        return bytes
    }
    private static let emailOrigins = ["unsubscribe-link", "list-unsubscribe-header", "preference-center", "complaint"]
        .map {
            Array(#""origin":"\#($0)""#.utf8)
        }
    private static let ipPrefixA = Array(#","ip":"203.0."#.utf8)
    private static let ipPrefixB = Array(#","ip":"198.51."#.utf8)
    private static let userAgents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17425; Pro)",
    ].map { agent in
        var bytes = Array(#"","userAgent":"#.utf8)
        appendString(agent, to: &bytes)
        bytes.append(contentsOf: "}}}".utf8)
        return bytes
    }
    private static let smsDetails = [
        ("STOP", "Orange"), ("STOP SMS", "SFR"), ("ARRET", "Bouygues Telecom"), ("stop", "Free Mobile"),
    ].map {
        Array(#""origin":"keyword","keyword":"\#($0.0)","operator":"\#($0.1)","shortCode":""#.utf8)
    }
    private static let smsTail = Array(#""}}}"#.utf8)
}
