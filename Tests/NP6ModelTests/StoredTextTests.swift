import Testing

@testable import NP6Model

struct StoredTextTests {
    @Test(arguments: [
        ("84b10b69-6761-434f-be85-d56ddfaf0f20", "84b10b69-6761-434f-be85-d56ddfaf0f20"),
        ("é\n\u{7F}\\ \"quoted\" inside", "é\n\u{7F}\\ \"quoted\" inside"),
        ("", ""),
    ])
    func ordinaryStringsAreStoredAsTheyAre(string: String, stored: String) {
        #expect(StoredText.form(ofWTF8: Array(string.utf8)) == stored)
        #expect(StoredText.wtf8(ofForm: stored) == Array(string.utf8))
    }

    @Test(
        arguments: [
            ([0x6E, 0x00, 0x41], #""n\u0000A""#),
            ([0x73, 0xED, 0xA0, 0x80], #""s\ud800""#),
            ([0xED, 0xBF, 0xBF, 0x0A, 0x09, 0x0D, 0x1F, 0x5C, 0x22], #""\udfff\n\t\r\u001f\\\"""#),
            (Array(#""q""#.utf8), #""\"q\"""#),
            (Array(#"""#.utf8), #""\"""#),
            ([0x00, 0xC3, 0xA9], "\"\\u0000é\""),
        ] as [([UInt8], String)])
    func stringsNoDatabaseHoldsAndThoseThatLookLikeThemAreStoredAsLiterals(wtf8: [UInt8], stored: String) {
        #expect(StoredText.form(ofWTF8: wtf8) == stored)
        #expect(StoredText.wtf8(ofForm: stored) == wtf8)
        #expect(!stored.utf8.contains(0))
    }

    @Test func aTextThatIsNoLiteralDecodesToNothing() {
        #expect(StoredText.wtf8(ofForm: #""open"#) == nil)
        #expect(StoredText.wtf8(ofForm: #""a" "b""#) == nil)
    }

    /// Random WTF-8 strings drawn from the characters that matter: distinct strings get distinct
    /// forms, each form is valid text without U+0000, and it decodes back.
    @Test func distinctStringsGetDistinctForms() throws {
        var generator = SplitMix64(seed: 18)
        let alphabet: [UInt32] = [
            0x00, 0x01, 0x0A, 0x22, 0x5C, 0x41, 0x75, 0xE9, 0xFFFD, 0x1F600, 0xD800, 0xDBFF, 0xDC00,
        ]
        var seen: [String: [UInt8]] = [:]
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            var previousWasHigh = false
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                let unit = alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]
                // A high surrogate before a low one is a pair, never two lone ones.
                if previousWasHigh && (0xDC00...0xDFFF).contains(unit) { continue }
                previousWasHigh = (0xD800...0xDBFF).contains(unit)
                bytes += Self.generalisedUTF8(unit)
            }
            let form = StoredText.form(ofWTF8: bytes)
            #expect(!form.utf8.contains(0))
            #expect(StoredText.wtf8(ofForm: form) == bytes)
            if let other = seen[form] {
                #expect(other == bytes, "\(other) and \(bytes) share the form \(form)")
            }
            seen[form] = bytes
        }
        #expect(seen.count > 5_000)
    }

    static func generalisedUTF8(_ unit: UInt32) -> [UInt8] {
        switch unit {
        case ..<0x80: [UInt8(unit)]
        case ..<0x800: [UInt8(0xC0 | unit >> 6), UInt8(0x80 | unit & 0x3F)]
        case ..<0x10000: [UInt8(0xE0 | unit >> 12), UInt8(0x80 | unit >> 6 & 0x3F), UInt8(0x80 | unit & 0x3F)]
        default:
            [
                UInt8(0xF0 | unit >> 18), UInt8(0x80 | unit >> 12 & 0x3F), UInt8(0x80 | unit >> 6 & 0x3F),
                UInt8(0x80 | unit & 0x3F),
            ]
        }
    }
}
