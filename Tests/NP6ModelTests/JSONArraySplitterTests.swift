import Testing

@testable import NP6Model

struct JSONArraySplitterTests {
    /// A realistic stop-events body: the NP6 envelope, nested `source.detail`, a unicity with `+`
    /// and non-ASCII, strings full of structural characters, CRLF and tab indentation.
    static let sampleEvents: [String] = [
        #"""
        {"type": "stop",
         "id": "84b10b69-6761-434f-be85-d56ddfaf0f20",
         "timestamp": 1614089582000,
         "identity": {"type": "customer", "agency": "DEMO", "customer": "028"},
         "source": {"type": "email",
                    "detail": {"execution": {"id": "000PE4", "kind": "message",
                                             "recipient": {"type": "footprint", "id": "000R4M0T",
                                                           "unicity": "jos\u00e9+news@np6.com",
                                                           "hash": "0441619ab4631d18548aa8835dd2c28b"}}}}}
        """#,
        #"{"type":"stop","id":"9c1d1d9e-1f0e-4c43-a7a4-1b2f0c9b7e01","timestamp":1614089583000,"identity":{"type":"customer","agency":"DEMO","customer":"028"},"source":{"type":"sms","detail":{"execution":{"id":"000PE5","kind":"message","recipient":{"type":"footprint","id":"000R4M0U","unicity":"zoë+sms@example.fr","hash":"1f3870be274f6c49b3e31a0c6728957f"}}}}}"#,
        "{\r\n\t\"type\": \"stop\",\r\n\t\"id\": \"a0000000-0000-4000-8000-000000000003\",\r\n\t\"timestamp\": 1614089584000,\r\n\t\"note\": \"brackets ] } [ { and commas , inside, plus \\\"quoted\\\" and a backslash \\\\\",\r\n\t\"identity\": {\"type\": \"customer\"},\r\n\t\"source\": {\"type\": \"email\", \"detail\": {\"tags\": [\"a,b\", \"]\", \"}\"], \"nested\": [[1, 2], [3, [4, {\"x\": []}]]]}}\r\n}",
        #"{"id":"b0000000-0000-4000-8000-000000000004","timestamp":1614089585000,"type":"stop","identity":{"type":"customer"},"source":{"type":"email","detail":{"emoji":"😀 \ud83d\ude00","tricky":"a\"],{\"","path":"C:\\dir\\"}}}"#,
        #"{"id":"c0000000-0000-4000-8000-000000000005","timestamp":1614089586000,"type":"stop","identity":{"type":"customer","extra":null},"source":{"type":"email","detail":{"execution":{"id":"000PE9","kind":"message","recipient":{"unicity":"ünïcødé+tag@exämple.com"}}},"flags":[true,false,null,-1.5e3]}}"#,
    ]

    static let sampleBody: [UInt8] = Array(
        ("\r\n[\r\n\t" + sampleEvents.joined(separator: " ,\r\n\t") + "\r\n]\r\n").utf8
    )

    static let sampleElements: [SplitElement] = sampleEvents.map { .element(Array($0.utf8)) }

    /// Splits `body` fed as chunks ending at the given offsets, then finishes.
    static func split(
        _ body: [UInt8],
        cuts: [Int] = [],
        splitter initial: JSONArraySplitter = JSONArraySplitter()
    ) throws(JSONArraySplitterError) -> [SplitElement] {
        var splitter = initial
        var elements: [SplitElement] = []
        var start = 0
        for cut in cuts + [body.count] {
            try splitter.append(Array(body[start..<cut]), into: &elements)
            start = cut
        }
        try splitter.finish()
        #expect(splitter.bytesConsumed == body.count)
        #expect(splitter.isComplete)
        return elements
    }

    static func split(
        _ text: String, splitter: JSONArraySplitter = JSONArraySplitter()
    ) throws(JSONArraySplitterError)
        -> [SplitElement]
    {
        try split(Array(text.utf8), splitter: splitter)
    }

    static func elements(_ texts: String...) -> [SplitElement] {
        texts.map { .element(Array($0.utf8)) }
    }

    // MARK: - Boundaries

    @Test func splitsTopLevelElements() throws {
        #expect(try Self.split("[1,2,3]") == Self.elements("1", "2", "3"))
        #expect(try Self.split(#"[1, garbage, {"id":}]"#) == Self.elements("1", "garbage", #"{"id":}"#))
    }

    @Test(arguments: ["[]", "[ ]", " \r\n\t[\r\n\t]\r\n\t "])
    func emptyArrayYieldsNothing(body: String) throws {
        #expect(try Self.split(body) == [])
    }

    @Test func structuralCharactersInsideStringsAreContent() throws {
        let body = #"["a,b", "[]{}", "a\"],{\"", "\\", "\\\"", "x\\\\", "}{"]"#
        #expect(
            try Self.split(body)
                == Self.elements(#""a,b""#, #""[]{}""#, #""a\"],{\"""#, #""\\""#, #""\\\"""#, #""x\\\\""#, #""}{""#)
        )
    }

    @Test func unicodeEscapesAndRawNonASCIIPassThrough() throws {
        let body = #"["\u00e9\ud83d\ude00", "é😀", {"k\u005d": "ü]"}]"#
        #expect(try Self.split(body) == Self.elements(#""\u00e9\ud83d\ude00""#, #""é😀""#, #"{"k\u005d": "ü]"}"#))
    }

    @Test func nestedArraysAndObjectsStayWhole() throws {
        let body = #"[[1,[2,3]],{"a":{"b":[1,{"c":[]}]},"d":[]},4,[[]]]"#
        #expect(try Self.split(body) == Self.elements("[1,[2,3]]", #"{"a":{"b":[1,{"c":[]}]},"d":[]}"#, "4", "[[]]"))
    }

    @Test func whitespaceEverywhereIsTrimmedFromElements() throws {
        let body = "\r\n [ \t{ \"a\" :\r\n 1 } \r\n, \t 2\n ,\"x y\"\t]\r\n "
        #expect(try Self.split(body) == Self.elements("{ \"a\" :\r\n 1 }", "2", "\"x y\""))
    }

    @Test func emptyElementsComeOutEmpty() throws {
        #expect(try Self.split("[1,,2]") == Self.elements("1", "", "2"))
        #expect(try Self.split("[1,]") == Self.elements("1", ""))
        #expect(try Self.split("[ , ]") == Self.elements("", ""))
        #expect(try Self.split("[1, \t ,2]") == Self.elements("1", "", "2"))
    }

    @Test func mismatchedCloserInsideAnElementStillPops() throws {
        #expect(try Self.split(#"[{"a":[1}], 3]"#) == Self.elements(#"{"a":[1}]"#, "3"))
    }

    // MARK: - Errors

    @Test(arguments: [
        (#"{"id": "x"}"#, 0),
        (#""[1,2]""#, 0),
        ("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", 0),
        ("\r\n  <html>", 4),
        ("null", 0),
    ])
    func bodyThatIsNotAnArrayIsRejected(body: String, offset: Int) {
        #expect(throws: JSONArraySplitterError.notAnArray(offset: offset)) { try Self.split(body) }
    }

    @Test func trailingGarbageIsRejected() {
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 4, byte: UInt8(ascii: "x"))) {
            try Self.split("[1] x")
        }
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 3, byte: UInt8(ascii: "]"))) {
            try Self.split("[1]]")
        }
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 4, byte: UInt8(ascii: "["))) {
            try Self.split("[1] [2]")
        }
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 3, byte: UInt8(ascii: "]"))) {
            try Self.split("[ ]]")
        }
        #expect((try? Self.split("[1] \r\n\t ")) == Self.elements("1"))
    }

    @Test func braceClosingTheArrayIsRejected() {
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 2, byte: UInt8(ascii: "}"))) {
            try Self.split("[1}")
        }
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 3, byte: UInt8(ascii: "}"))) {
            try Self.split("[{}}]")
        }
    }

    @Test func elementsBeforeAnErrorAreDeliveredAndTheErrorSticks() {
        var splitter = JSONArraySplitter()
        var elements: [SplitElement] = []
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 6, byte: UInt8(ascii: "x"))) {
            try splitter.append(Array("[1,2] x".utf8), into: &elements)
        }
        #expect(elements == Self.elements("1", "2"))
        #expect(splitter.bytesConsumed == 6)
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 6, byte: UInt8(ascii: "x"))) {
            try splitter.append(Array(" ".utf8), into: &elements)
        }
        #expect(throws: JSONArraySplitterError.unexpectedByte(offset: 6, byte: UInt8(ascii: "x"))) {
            try splitter.finish()
        }
    }

    @Test func truncationAtEveryPointIsReported() throws {
        let body = Self.sampleBody
        for length in 0..<body.count {
            var splitter = JSONArraySplitter()
            var elements: [SplitElement] = []
            try splitter.append(Array(body[..<length]), into: &elements)
            // The closing `]` is the last non-whitespace byte, so every shorter prefix is incomplete.
            let closed =
                body[..<length].contains(UInt8(ascii: "]")) && body[length...].allSatisfy { $0 != UInt8(ascii: "]") }
            if closed {
                try splitter.finish()
            } else {
                #expect(throws: JSONArraySplitterError.truncated(bytesConsumed: length)) { try splitter.finish() }
                #expect(!splitter.isComplete)
            }
        }
        var empty = JSONArraySplitter()
        var none: [SplitElement] = []
        try empty.append([UInt8](), into: &none)
        #expect(throws: JSONArraySplitterError.truncated(bytesConsumed: 0)) { try empty.finish() }
    }

    @Test func nestingBeyondMaxDepthIsRejected() throws {
        let limited = JSONArraySplitter(maxDepth: 3)
        #expect(try Self.split("[[[[1]]]]", splitter: limited) == Self.elements("[[[1]]]"))
        #expect(throws: JSONArraySplitterError.tooDeep(offset: 4)) {
            try Self.split("[[[[[1]]]]]", splitter: limited)
        }
        let atLimit = "[" + String(repeating: "{\"a\":", count: 511) + "[]" + String(repeating: "}", count: 511) + "]"
        #expect(try Self.split(atLimit).count == 1)
        let hostile = "[" + String(repeating: "[", count: 100_000)
        #expect(throws: JSONArraySplitterError.tooDeep(offset: 513)) { try Self.split(hostile) }
    }

    // MARK: - Oversized elements

    @Test func oversizedElementIsCountedAndTheNextOnesStillComeOut() throws {
        let small = JSONArraySplitter(maxElementBytes: 10)
        let body = Array(#"[1, "0123456789abc" , 0123456789, 2]"#.utf8)
        let expected: [SplitElement] = [
            .element(Array("1".utf8)),
            .oversized(prefix: Array(#""012345678"#.utf8), totalBytes: 16),
            .element(Array("0123456789".utf8)),
            .element(Array("2".utf8)),
        ]
        #expect(try Self.split(body, splitter: small) == expected)
        for cut in 0...body.count {
            #expect(try Self.split(body, cuts: [cut], splitter: small) == expected)
        }
        #expect(try Self.split(body, cuts: Array(1..<body.count), splitter: small) == expected)
    }

    @Test func oversizedElementKeepsOnlyASmallPrefix() throws {
        let huge = "{\"id\":\"" + String(repeating: "x", count: 2 << 20) + "\"}"
        let body = Array(("[" + huge + ",{\"id\":\"next\"}]").utf8)
        let cuts = Array(stride(from: 1000, to: body.count, by: 65_536))
        let elements = try Self.split(body, cuts: cuts)
        #expect(elements.count == 2)
        #expect(elements.first == .oversized(prefix: Array(huge.utf8.prefix(4096)), totalBytes: huge.utf8.count))
        #expect(elements.last == .element(Array(#"{"id":"next"}"#.utf8)))
    }

    // MARK: - Chunk boundaries

    @Test func sampleBodySplitsIntoItsEvents() throws {
        #expect(try Self.split(Self.sampleBody) == Self.sampleElements)
    }

    @Test func everyTwoChunkSplitGivesTheSameElements() throws {
        for cut in 0...Self.sampleBody.count {
            let elements = try Self.split(Self.sampleBody, cuts: [cut])
            #expect(elements == Self.sampleElements, "cut at \(cut)")
        }
    }

    @Test func oneByteChunksGiveTheSameElements() throws {
        let body = Self.sampleBody
        #expect(try Self.split(body, cuts: Array(1..<body.count)) == Self.sampleElements)
    }

    @Test func randomThreeChunkSplitsGiveTheSameElements() throws {
        var generator = SplitMix64(seed: 0x4E50_36)
        let count = Self.sampleBody.count
        for _ in 0..<300 {
            let a = Int.random(in: 0...count, using: &generator)
            let b = Int.random(in: 0...count, using: &generator)
            let elements = try Self.split(Self.sampleBody, cuts: [min(a, b), max(a, b)])
            #expect(elements == Self.sampleElements, "cuts at \(min(a, b)), \(max(a, b))")
        }
    }

    @Test func rawBufferChunksGiveTheSameElements() throws {
        var splitter = JSONArraySplitter()
        var elements: [SplitElement] = []
        let body = Self.sampleBody
        for start in stride(from: 0, to: body.count, by: 7) {
            let chunk = Array(body[start..<min(start + 7, body.count)])
            // An untyped closure: a `throws(JSONArraySplitterError)` one crashes the 6.3.1 compiler here.
            try chunk.withUnsafeBytes { raw in try splitter.append(raw, into: &elements) }
        }
        try splitter.finish()
        #expect(elements == Self.sampleElements)
        #expect(splitter.bytesConsumed == body.count)
    }

    @Test func randomDocumentsSplitIntoTheirElements() throws {
        var generator = SplitMix64(seed: 42)
        let whitespace = [" ", "\r\n", "\t", "", ""]
        for _ in 0..<200 {
            let values = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                Self.randomValue(depth: 0, using: &generator)
            }
            var body = "["
            for (index, value) in values.enumerated() {
                if index > 0 { body += "," }
                body +=
                    whitespace.randomElement(using: &generator)! + value.jsonText + whitespace.randomElement(
                        using: &generator
                    )!
            }
            body += "]"
            let bytes = Array(body.utf8)
            let cuts = (0..<3).map { _ in Int.random(in: 0...bytes.count, using: &generator) }.sorted()
            let elements = try Self.split(bytes, cuts: cuts)
            #expect(elements == values.map { .element(Array($0.jsonText.utf8)) })
            #expect(
                try elements.map { element -> JSONValue in
                    guard case .element(let raw) = element else { return .null }
                    return try JSONValue.parse(raw)
                } == values
            )
        }
    }

    static func randomValue(depth: Int, using generator: inout SplitMix64) -> JSONValue {
        let pieces = ["a", "\"", "\\", "[", "]", "{", "}", ",", ":", " ", "é", "😀", "\n", "\u{1}", "\\\""]
        func randomString() -> String {
            (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
                .joined()
        }
        switch Int.random(in: 0..<(depth < 4 ? 7 : 5), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(["0", "-1", "3.25", "1e-7", "1614089582000"].randomElement(using: &generator)!)
        case 3, 4: return .string(randomString())
        case 5:
            return .array(
                (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                    randomValue(depth: depth + 1, using: &generator)
                }
            )
        default:
            return .object(
                (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                    JSONMember(key: randomString(), value: randomValue(depth: depth + 1, using: &generator))
                }
            )
        }
    }

    @Test func collectionChunksGiveTheSameElements() throws {
        var splitter = JSONArraySplitter()
        var elements: [SplitElement] = []
        let body = Self.sampleBody
        for start in stride(from: 0, to: body.count, by: 11) {
            let slice = body[start..<min(start + 11, body.count)]
            if start.isMultiple(of: 2) {
                try splitter.append(contentsOf: slice, into: &elements)
            } else {
                try splitter.append(contentsOf: slice.lazy.map { $0 }, into: &elements)  // not contiguous
            }
        }
        try splitter.finish()
        #expect(elements == Self.sampleElements)
    }

    @Test func everySampleElementDecodesToAnEvent() {
        let ids = Self.sampleElements.compactMap { element -> String? in
            guard case .event(let event) = EventDecoder.decode(element) else { return nil }
            return event.id
        }
        #expect(ids.count == 5)
        #expect(Set(ids).count == 5)
    }

    @Test func errorDescriptionsAreActionable() {
        #expect(JSONArraySplitterError.notAnArray(offset: 0).description.contains("not a JSON array"))
        #expect(
            JSONArraySplitterError.unexpectedByte(offset: 7, byte: UInt8(ascii: "}")).description
                .contains("0x7D ('}') at offset 7")
        )
        #expect(JSONArraySplitterError.truncated(bytesConsumed: 12).description.contains("after 12 bytes"))
    }
}

/// A small seeded generator, so "random" splits are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
