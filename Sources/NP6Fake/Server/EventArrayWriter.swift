import Hummingbird

/// Streams a stop-events body: a JSON array written 256 elements at a time, each element rendered
/// from its compact record as it is written, so the body never exists whole in memory.
struct EventArrayWriter: Sendable {
    /// Elements per body write.
    static let elementsPerWrite = 256

    /// Thrown to close the connection in the middle of a body: Hummingbird then closes the
    /// channel without the final chunk, and the client sees a truncated chunked body.
    struct DroppedConnection: Error {}

    let plan: EventStreamPlan
    /// Waits while the test holds the answers (`holdAfterElements`).
    var waitWhileHeld: @Sendable () async -> Void = {}
    /// Called just before the last bytes (the closing bracket) are written: the client cannot
    /// have the whole body, and ask again, before it returns.
    var beforeLastBytes: @Sendable () -> Void = {}

    func write(to writer: inout any ResponseBodyWriter) async throws {
        let records = plan.records
        let count = records.count
        let permutation = Self.permutation(count: count, order: plan.order)
        var malformed = SeededGenerator(seed: plan.malformedSeed)
        let renderer = EventJSON(contact: plan.contact)
        let dropAt = plan.dropHalfway ? count / 2 : nil
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        bytes.reserveCapacity(Self.elementsPerWrite * 600)
        let pretty = plan.pretty
        var element: [UInt8] = []
        /// One element, compact or, pretty, on its own indented lines.
        func render(_ record: EventRecord, defect: EventJSON.Defect?) -> [UInt8] {
            element.removeAll(keepingCapacity: true)
            renderer.append(record, to: &element, defect: defect)
            return pretty ? Self.prettyPrinted(element, indent: 1, leadingLineBreak: true) : element
        }
        for position in 0..<count {
            let offset: Int =
                switch plan.order {
                case .ascending: position
                case .descending: count - 1 - position
                case .shuffled, .backInTime: Int(permutation[position])
                }
            let record = records[records.startIndex + offset]
            let pauseMs = plan.trickleMs + (position == count / 2 ? plan.stallHalfwayMs : 0)
            if pauseMs > 0 {
                // What was rendered so far reaches the client before the pause.
                try await writer.write(ByteBuffer(bytes: bytes))
                bytes.removeAll(keepingCapacity: true)
                try await Task.sleep(for: .milliseconds(pauseMs))
            }
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            let defect = malformed.chance(plan.malformedElementRate) ? Self.defect(of: record) : nil
            let rendered = render(record, defect: defect)
            if position == dropAt {
                bytes.append(contentsOf: rendered.prefix(rendered.count / 2))
                try await Self.drop(after: bytes, writer: &writer)
            }
            bytes.append(contentsOf: rendered)
            if defect == nil, malformed.chance(plan.duplicateElementRate) {
                bytes.append(UInt8(ascii: ","))
                bytes.append(contentsOf: render(record, defect: nil))
            }
            if (position + 1) % Self.elementsPerWrite == 0 || position + 1 == plan.holdAfterElements {
                try await writer.write(ByteBuffer(bytes: bytes))
                bytes.removeAll(keepingCapacity: true)
            }
            if position + 1 == plan.holdAfterElements { await waitWhileHeld() }
        }
        if plan.dropHalfway {
            try await Self.drop(after: bytes, writer: &writer)
        }
        if pretty && count > 0 { bytes.append(UInt8(ascii: "\n")) }
        bytes.append(UInt8(ascii: "]"))
        beforeLastBytes()
        try await writer.write(ByteBuffer(bytes: bytes))
        try await writer.finish(nil)
    }

    /// `json` (compact) pretty-printed as Python's `json.dumps(indent=2)` writes it: a line per
    /// member or element, two spaces per level, `": "` after keys; `indent` levels deep, after a
    /// line break when `leadingLineBreak`. Bytes inside strings are copied as they are. Broken
    /// JSON comes out as broken as it went in.
    static func prettyPrinted(_ json: [UInt8], indent: Int, leadingLineBreak: Bool) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(json.count * 2)
        var level = indent
        func newLine() {
            output.append(UInt8(ascii: "\n"))
            output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * level))
        }
        if leadingLineBreak { newLine() }
        var inString = false
        var escaped = false
        for (index, byte) in json.enumerated() {
            if inString {
                output.append(byte)
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                output.append(byte)
                let next = index + 1 < json.count ? json[index + 1] : 0
                if next != UInt8(ascii: "}") && next != UInt8(ascii: "]") {
                    level += 1
                    newLine()
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                let previous = index > 0 ? json[index - 1] : 0
                if previous != UInt8(ascii: "{") && previous != UInt8(ascii: "[") {
                    level -= 1
                    newLine()
                }
                output.append(byte)
            case UInt8(ascii: ","):
                output.append(byte)
                newLine()
            case UInt8(ascii: ":"):
                output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            case UInt8(ascii: "\""):
                output.append(byte)
                inString = true
            default:
                output.append(byte)
            }
        }
        return output
    }

    /// Writes what was rendered so far, lets it reach the socket, then fails the response.
    private static func drop(after bytes: [UInt8], writer: inout any ResponseBodyWriter) async throws -> Never {
        try await writer.write(ByteBuffer(bytes: bytes))
        // Closing the channel discards writes still queued in it; give them time to leave.
        try await Task.sleep(for: .milliseconds(50))
        throw DroppedConnection()
    }

    /// The defect of a malformed element: one of the three, fixed per event.
    static func defect(of record: EventRecord) -> EventJSON.Defect {
        EventJSON.Defect.allCases[Int((record.idLow >> 8) % UInt64(EventJSON.Defect.allCases.count))]
    }

    private static func permutation(count: Int, order: EventStreamPlan.Order) -> [Int32] {
        if order == .backInTime {
            let half = Int32(count / 2)
            let threeQuarters = Int32(count * 3 / 4)
            return Array(half..<threeQuarters) + Array(0..<half) + Array(threeQuarters..<Int32(count))
        }
        guard case .shuffled(let seed) = order else { return [] }
        var random = SeededGenerator(seed: seed, stream: GeneratorStream.shuffle)
        var permutation = Array(0..<Int32(count))
        permutation.shuffle(using: &random)
        return permutation
    }
}
