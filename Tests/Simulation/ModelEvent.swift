import NP6Model

/// One stop event of the model API: its bytes are fixed when it is made, as the API renders an
/// event the same way on every request.
public struct ModelEvent: Sendable, Hashable {
    /// Its number in the world: part of the id and of the payload, so every payload is unique.
    public var number: Int
    public var contact: Int
    public var timestampMs: Int64
    /// The API's time when it was published (a late event: later than its timestamp).
    public var publishedMs: Int64
    public var payload: [UInt8]

    public var lateness: Int64 { publishedMs - timestampMs }

    /// Names an id only a byte-exact store keeps (NUL, a lone surrogate), for failure messages.
    var idNote: String {
        let text = String(decoding: payload, as: UTF8.self)
        let hostile = [#"lone\u"#, #"nul\u000"#].contains { text.contains($0) }
        return hostile ? " (its id has a NUL or a lone surrogate)" : ""
    }
}

/// Ids of every shape: escapes, non-ASCII, long ones and, with `hostile`, the ones only a
/// byte-exact store keeps apart (NUL, lone surrogates).
///
/// The decoded id is `"<number>:<fragment>"`: distinct numbers make distinct ids whatever the
/// fragment, and the fragment's JSON spelling is chosen once per event.
enum ModelIDs {
    /// A fragment: several JSON spellings of the same decoded text.
    private static let fragments: [[String]] = [
        [""],
        ["stop"],
        ["caf\u{e9}", #"caf\u00e9"#, #"caf\u00E9"#],
        ["\u{1F600}", #"\ud83d\ude00"#, #"\uD83D\uDE00"#],
        [#"a\"b"#, #"a\u0022b"#],
        [#"back\\slash"#, #"back\u005cslash"#],
        ["a/b", #"a\/b"#],
        [#"line\nbreak"#, #"line\u000abreak"#, #"line\u000Abreak"#],
        [#"tab\tx"#, #"tab\u0009x"#],
        ["\u{202E}rtl", #"\u202ertl"#],
        ["0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
    ]
    private static let hostileFragments: [[String]] = [
        [#"nul\u0000x"#],
        [#"lone\ud800"#],
        [#"lone\udc00x"#],
        [#"pair\ud800\udc00"#, "pair\u{10000}"],
    ]

    /// The id's JSON string literal (quotes included).
    static func literal(number: Int, hostile: Bool, random: inout SimulationRandom) -> String {
        var choices = fragments
        if hostile { choices += hostileFragments }
        let spellings = random.pick(choices)
        return "\"\(number):\(random.pick(spellings))\""
    }
}
