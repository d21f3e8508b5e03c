/// The compact form in which the fake keeps an event: 32 bytes, no heap allocation.
///
/// The JSON is rendered from these fields and the contact when a body is written, so a contact
/// with a million events costs 32 MB, not the half gigabyte its JSON would.
struct EventRecord: Sendable, Hashable {
    /// Publication time in ms since 1970, the event's `timestamp`.
    var timestampMs: Int64
    /// When the event became visible through the API, in ms since 1970.
    var arrivedMs: Int64
    /// The event's UUID, high and low halves, with the version-4 bits set.
    var idHigh: UInt64
    var idLow: UInt64

    init(timestampMs: Int64, arrivedMs: Int64, random: inout SeededGenerator) {
        self.timestampMs = timestampMs
        self.arrivedMs = arrivedMs
        self.idHigh = (random.next() & ~0xF000) | 0x4000
        self.idLow = (random.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
    }

    /// The canonical lower-case UUID string, e.g. `84b10b69-6761-434f-be85-d56ddfaf0f20`.
    var uuidString: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(36)
        appendUUID(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func appendUUID(to bytes: inout [UInt8]) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { hex in
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    bytes.append(UInt8(ascii: "-"))
                }
                let half = nibble < 16 ? idHigh : idLow
                let shift = UInt64(60 - 4 * (nibble % 16))
                bytes.append(hex[Int((half >> shift) & 0xF)])
            }
        }
    }

    /// The API's order: timestamp, then id (UUID strings of fixed width sort as their bits do).
    static func apiOrder(_ lhs: EventRecord, _ rhs: EventRecord) -> Bool {
        if lhs.timestampMs != rhs.timestampMs { return lhs.timestampMs < rhs.timestampMs }
        if lhs.idHigh != rhs.idHigh { return lhs.idHigh < rhs.idHigh }
        return lhs.idLow < rhs.idLow
    }
}
