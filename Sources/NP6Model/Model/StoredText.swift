/// The text form in which np6-sync stores a string it decoded from an event (the id, the type
/// columns): text that both SQLite and PostgreSQL hold, and distinct for distinct strings.
///
/// A JSON string may hold U+0000 (SQLite binds text only up to it, PostgreSQL refuses it) or a
/// lone surrogate (`"\ud800"`, which no Unicode text can hold). Such a string, and any string
/// that begins with `"`, is stored as its JSON string literal, quotes included, in which `"`
/// and `\` are escaped, line feed, carriage return and tab are `\n`, `\r`, `\t`, the other
/// control characters `\u00xx` and a lone surrogate `\udxxx` (lower-case hex), everything else
/// as it is. Every other string is stored as it is. The two forms never meet (only a literal
/// begins with `"`) and a literal decodes back to its string, so two strings share a form only
/// when they are equal.
///
/// ```swift
/// StoredText.form(ofWTF8: Array("84b10b69-6761".utf8))  // 84b10b69-6761
/// StoredText.form(ofWTF8: [0x6E, 0x00, 0x41])            // "n\u0000A"   (the JSON "n\u0000A")
/// StoredText.form(ofWTF8: [0x73, 0xED, 0xA0, 0x80])      // "s\ud800"    (the JSON "s\ud800")
/// StoredText.form(ofWTF8: Array(#""q""#.utf8))           // "\"q\""      (the JSON "\"q\"")
/// ```
public enum StoredText {
    /// The stored form of a decoded JSON string.
    ///
    /// - Parameter bytes: the string as WTF-8: UTF-8, except that a lone surrogate is the three
    ///   bytes its code point would have (`ED A0 80` for U+D800), as `EventDecoder` decodes it.
    public static func form(ofWTF8 bytes: [UInt8]) -> String {
        guard needsLiteral(bytes) else { return String(decoding: bytes, as: UTF8.self) }
        var output: [UInt8] = [UInt8(ascii: "\"")]
        output.reserveCapacity(bytes.count + 8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if let unit = surrogate(in: bytes, at: index) {
                appendEscape(unit, to: &output)
                index += 3
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
            case 0x0A: output.append(contentsOf: #"\n"#.utf8)
            case 0x0D: output.append(contentsOf: #"\r"#.utf8)
            case 0x09: output.append(contentsOf: #"\t"#.utf8)
            case 0x00..<0x20: appendEscape(UInt32(byte), to: &output)
            default: output.append(byte)
            }
            index += 1
        }
        output.append(UInt8(ascii: "\""))
        return String(decoding: output, as: UTF8.self)
    }

    /// The string (as WTF-8) whose stored form is `text`: `form(ofWTF8:)` undone; nil when
    /// `text` begins with `"` but is not one JSON string literal.
    public static func wtf8(ofForm text: String) -> [UInt8]? {
        guard text.utf8.first == UInt8(ascii: "\"") else { return Array(text.utf8) }
        var text = text
        return text.withUTF8 { buffer -> [UInt8]? in
            var scanner = JSONScanner(buffer, maxDepth: 1, allowsLoneSurrogates: true)
            guard case .string(let span)? = try? scanner.next(), (try? scanner.next()) == .end else { return nil }
            return scanner.decodeWTF8(span)
        }
    }

    /// Whether `bytes` hold U+0000 or a lone surrogate, or begin with `"`.
    private static func needsLiteral(_ bytes: [UInt8]) -> Bool {
        if bytes.first == UInt8(ascii: "\"") { return true }
        for index in bytes.indices where bytes[index] == 0 || surrogate(in: bytes, at: index) != nil {
            return true
        }
        return false
    }

    /// The surrogate whose three WTF-8 bytes start at `index` (`ED A0…BF 80…BF`: valid UTF-8
    /// never has `ED` before `A0`), or nil.
    private static func surrogate(in bytes: [UInt8], at index: Int) -> UInt32? {
        guard bytes[index] == 0xED, index + 2 < bytes.count, bytes[index + 1] >= 0xA0 else { return nil }
        return 0xD000 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F)
    }

    /// Appends `\u` and four lower-case hex digits.
    private static func appendEscape(_ unit: UInt32, to output: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        output.append(contentsOf: #"\u"#.utf8)
        for shift in stride(from: 12, through: 0, by: -4) {
            output.append(digits[Int(unit >> UInt32(shift) & 0xF)])
        }
    }
}
