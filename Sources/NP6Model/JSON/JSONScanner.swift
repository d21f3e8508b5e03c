/// The one JSON grammar of the module (RFC 8259): a pull lexer that also validates structure.
///
/// Each `next()` returns the next token of exactly one JSON value, then `.end` once only
/// whitespace is left. Strings are validated (escapes, `\uXXXX` surrogate pairs, UTF-8) but
/// not decoded: tokens carry byte ranges, and `decodeString(_:)` builds a `String` only for
/// the values a caller wants. It never recurses and never allocates below 64 levels of nesting,
/// so `EventDecoder` can walk an event in one pass and `JSONValue` can build a tree from the
/// same tokens. A `\u` escape of a lone surrogate, which RFC 8259's grammar allows, is an
/// error unless `allowsLoneSurrogates` (an event id may hold one; a config file may not).
///
/// The bytes must stay valid while the scanner is in use (it lives inside a
/// `withUnsafeBufferPointer` scope).
struct JSONScanner {
    /// The bytes of a string's content, between its quotes, still escaped.
    struct StringSpan: Hashable {
        var start: Int
        var end: Int
        /// The content has backslash escapes, so it differs from its decoded form.
        var hasEscapes: Bool
    }

    /// The bytes of a number literal.
    struct NumberSpan: Hashable {
        var start: Int
        var end: Int
        /// No fraction and no exponent.
        var isInteger: Bool
    }

    enum Token: Hashable {
        case beginObject, endObject, beginArray, endArray
        /// An object member's key; its `:` has been consumed and the value's tokens follow.
        case key(StringSpan)
        case string(StringSpan)
        case number(NumberSpan)
        case bool(Bool)
        case null
        /// The value is complete and only whitespace follows it.
        case end
    }

    private enum State: UInt8 {
        case value, valueOrEndArray, key, keyOrEndObject, afterValue, done
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    /// A `\u` escape of a surrogate that is not half of a pair is accepted, not an error.
    let allowsLoneSurrogates: Bool
    /// The next byte to read.
    private(set) var offset = 0
    /// Containers currently open.
    private(set) var depth = 0
    private var state = State.value
    /// Bit `n` set: the container at depth `n + 1` is an object (for the first 64 levels).
    private var shallowKinds: UInt64 = 0
    /// Container kinds beyond 64 levels, `true` for an object.
    private var deepKinds: [Bool] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = 512, allowsLoneSurrogates: Bool = false) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.allowsLoneSurrogates = allowsLoneSurrogates
    }

    // MARK: - Tokens

    /// The next token.
    /// - Throws: `JSONSyntaxError` at the first byte that breaks the grammar.
    mutating func next() throws(JSONSyntaxError) -> Token {
        while true {
            skipWhitespace()
            switch state {
            case .done:
                guard offset == bytes.count else { throw error("unexpected data after the value") }
                return .end

            case .afterValue:
                guard offset < bytes.count else { throw error("unexpected end of input") }
                let byte = bytes[offset]
                if topIsObject {
                    if byte == UInt8(ascii: ",") {
                        offset += 1
                        state = .key
                        continue
                    }
                    guard byte == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
                    offset += 1
                    pop()
                    return .endObject
                } else {
                    if byte == UInt8(ascii: ",") {
                        offset += 1
                        state = .value
                        continue
                    }
                    guard byte == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
                    offset += 1
                    pop()
                    return .endArray
                }

            case .key, .keyOrEndObject:
                guard offset < bytes.count else { throw error("unexpected end of input") }
                let byte = bytes[offset]
                if byte == UInt8(ascii: "\"") {
                    let span = try scanString()
                    skipWhitespace()
                    guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else {
                        throw error("expected ':'")
                    }
                    offset += 1
                    state = .value
                    return .key(span)
                }
                if byte == UInt8(ascii: "}") && state == .keyOrEndObject {
                    offset += 1
                    pop()
                    return .endObject
                }
                throw error(state == .key ? "expected a string key" : "expected a string key or '}'")

            case .value, .valueOrEndArray:
                guard offset < bytes.count else { throw error("unexpected end of input") }
                let byte = bytes[offset]
                if byte == UInt8(ascii: "]") && state == .valueOrEndArray {
                    offset += 1
                    pop()
                    return .endArray
                }
                return try scanValue(startingWith: byte)
            }
        }
    }

    /// Consumes the rest of a value whose first token was `token` (nothing more for a scalar).
    mutating func skipValue(startingWith token: Token) throws(JSONSyntaxError) {
        switch token {
        case .beginObject, .beginArray:
            let outer = depth - 1
            while depth > outer {
                _ = try next()
            }
        default:
            return
        }
    }

    private mutating func scanValue(startingWith byte: UInt8) throws(JSONSyntaxError) -> Token {
        switch byte {
        case UInt8(ascii: "{"):
            try push(object: true)
            offset += 1
            state = .keyOrEndObject
            return .beginObject
        case UInt8(ascii: "["):
            try push(object: false)
            offset += 1
            state = .valueOrEndArray
            return .beginArray
        case UInt8(ascii: "\""):
            let span = try scanString()
            valueDone()
            return .string(span)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let span = try scanNumber()
            valueDone()
            return .number(span)
        case UInt8(ascii: "t"):
            try scanLiteral("true")
            valueDone()
            return .bool(true)
        case UInt8(ascii: "f"):
            try scanLiteral("false")
            valueDone()
            return .bool(false)
        case UInt8(ascii: "n"):
            try scanLiteral("null")
            valueDone()
            return .null
        default:
            throw error("expected a value")
        }
    }

    // MARK: - Structure

    private var topIsObject: Bool {
        let level = depth - 1
        if level < 64 { return level >= 0 && shallowKinds & (1 << UInt64(level)) != 0 }
        return deepKinds.last ?? false
    }

    private mutating func push(object: Bool) throws(JSONSyntaxError) {
        guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        if depth < 64 {
            let bit: UInt64 = 1 << UInt64(depth)
            if object { shallowKinds |= bit } else { shallowKinds &= ~bit }
        } else {
            deepKinds.append(object)
        }
        depth += 1
    }

    private mutating func pop() {
        if depth > 64 { deepKinds.removeLast() }
        depth -= 1
        state = depth == 0 ? .done : .afterValue
    }

    private mutating func valueDone() {
        state = depth == 0 ? .done : .afterValue
    }

    private func error(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? self.offset, message: message)
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return
            }
        }
    }

    // MARK: - Scalars

    private mutating func scanLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let length = literal.utf8CodeUnitCount
        guard bytes.count - offset >= length else { throw error("invalid literal") }
        let expected = literal.utf8Start
        for i in 0..<length where bytes[offset + i] != expected[i] {
            throw error("invalid literal")
        }
        offset += length
    }

    private mutating func scanNumber() throws(JSONSyntaxError) -> NumberSpan {
        let start = offset
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard offset < bytes.count, Self.isDigit(bytes[offset]) else { throw error("invalid number") }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
            if offset < bytes.count && Self.isDigit(bytes[offset]) {
                throw error("leading zeros are not allowed")
            }
        } else {
            skipDigits()
        }
        var isInteger = true
        if offset < bytes.count && bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard offset < bytes.count, Self.isDigit(bytes[offset]) else {
                throw error("expected a digit after the decimal point")
            }
            skipDigits()
            isInteger = false
        }
        if offset < bytes.count && (bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E")) {
            offset += 1
            if offset < bytes.count && (bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-")) {
                offset += 1
            }
            guard offset < bytes.count, Self.isDigit(bytes[offset]) else {
                throw error("expected a digit in the exponent")
            }
            skipDigits()
            isInteger = false
        }
        return NumberSpan(start: start, end: offset, isInteger: isInteger)
    }

    private mutating func skipDigits() {
        while offset < bytes.count && Self.isDigit(bytes[offset]) { offset += 1 }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// Validates a string starting at its opening quote and returns its content's span.
    private mutating func scanString() throws(JSONSyntaxError) -> StringSpan {
        let quote = offset
        offset += 1
        let start = offset
        var hasEscapes = false
        let count = bytes.count
        while true {
            // Plain ASCII runs dominate: one range test per byte until something needs a look.
            while offset < count {
                let byte = bytes[offset]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte &- 0x20 >= 0x60 {
                    break
                }
                offset += 1
            }
            guard offset < count else { throw error("unterminated string", at: quote) }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                let span = StringSpan(start: start, end: offset, hasEscapes: hasEscapes)
                offset += 1
                return span
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape(quote: quote)
            } else if byte < 0x20 {
                throw error("control character in string")
            } else {
                try scanUTF8Sequence()
            }
        }
    }

    /// Validates one escape sequence starting at its backslash.
    private mutating func scanEscape(quote: Int) throws(JSONSyntaxError) {
        let count = bytes.count
        guard offset + 1 < count else { throw error("unterminated string", at: quote) }
        switch bytes[offset + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            offset += 2
        case UInt8(ascii: "u"):
            guard let unit = Self.hexQuad(bytes, at: offset + 2) else { throw error("invalid \\u escape") }
            switch unit {
            case 0xD800...0xDBFF:
                if offset + 7 < count,
                    bytes[offset + 6] == UInt8(ascii: "\\"), bytes[offset + 7] == UInt8(ascii: "u"),
                    let low = Self.hexQuad(bytes, at: offset + 8), (0xDC00...0xDFFF).contains(low)
                {
                    offset += 12
                } else {
                    guard allowsLoneSurrogates else { throw error("unpaired surrogate in \\u escape") }
                    offset += 6
                }
            case 0xDC00...0xDFFF:
                guard allowsLoneSurrogates else { throw error("unpaired surrogate in \\u escape") }
                offset += 6
            default:
                offset += 6
            }
        default:
            throw error("invalid escape sequence")
        }
    }

    /// The value of four hex digits at `index`, or nil.
    static func hexQuad(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt32? {
        guard index >= 0, index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for i in index..<(index + 4) {
            let byte = bytes[i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (Unicode Table 3-7: no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func scanUTF8Sequence() throws(JSONSyntaxError) {
        let lead = bytes[offset]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xED:
            length = 3
            high = 0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF4:
            length = 4
            high = 0x8F
        case 0xF1...0xF3: length = 4
        default: throw error("invalid UTF-8")
        }
        guard offset + length <= bytes.count else { throw error("invalid UTF-8") }
        let second = bytes[offset + 1]
        guard second >= low && second <= high else { throw error("invalid UTF-8") }
        if length > 2 {
            for i in (offset + 2)..<(offset + length) where bytes[i] & 0xC0 != 0x80 {
                throw error("invalid UTF-8")
            }
        }
        offset += length
    }

    // MARK: - Decoding

    /// The bytes of a span, as a buffer.
    func slice(_ span: StringSpan) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[span.start..<span.end])
    }

    /// The decoded value of a string the scanner validated.
    func decodeString(_ span: StringSpan) -> String {
        Self.decodeString(slice(span), hasEscapes: span.hasEscapes)
    }

    /// The decoded value of a string the scanner validated, as WTF-8: UTF-8 in which a lone
    /// surrogate escape (`\ud800`) becomes the three bytes its code point would have (`ED A0 80`)
    /// instead of U+FFFD, and `\u0000` a 0 byte; distinct strings give distinct bytes.
    func decodeWTF8(_ span: StringSpan) -> [UInt8] {
        Self.decodeWTF8(slice(span), hasEscapes: span.hasEscapes)
    }

    /// Decodes validated string content to WTF-8 (see `decodeWTF8(_:)`), into one allocation no
    /// larger than the input.
    static func decodeWTF8(_ raw: UnsafeBufferPointer<UInt8>, hasEscapes: Bool) -> [UInt8] {
        guard hasEscapes else { return Array(raw) }
        return [UInt8](unsafeUninitializedCapacity: raw.count) { out, written in
            written = resolveEscapes(raw, into: out, keepingLoneSurrogates: true)
        }
    }

    /// Decodes validated string content: escapes resolved into one allocation no larger than the input.
    static func decodeString(_ raw: UnsafeBufferPointer<UInt8>, hasEscapes: Bool) -> String {
        guard hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: raw.count) { out in
            resolveEscapes(raw, into: out, keepingLoneSurrogates: false)
        }
    }

    /// Writes `raw` with its escapes resolved into `out` (at least `raw.count` bytes) and returns
    /// the bytes written. A surrogate pair becomes its code point; a lone surrogate keeps its own
    /// three bytes (WTF-8) when `keepingLoneSurrogates`, else becomes U+FFFD (a `String` holds
    /// Unicode scalars only). Either way 6 escaped bytes become at most 4: the output fits.
    private static func resolveEscapes(
        _ raw: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>, keepingLoneSurrogates: Bool
    ) -> Int {
        var written = 0
        var read = 0
        while read < raw.count {
            let byte = raw[read]
            guard byte == UInt8(ascii: "\\"), read + 1 < raw.count else {
                out[written] = byte
                written += 1
                read += 1
                continue
            }
            let escaped = raw[read + 1]
            read += 2
            guard escaped == UInt8(ascii: "u") else {
                out[written] = simpleEscape(escaped)
                written += 1
                continue
            }
            var unit = hexQuad(raw, at: read) ?? 0xFFFD
            read += 4
            if (0xD800...0xDBFF).contains(unit), read + 1 < raw.count, raw[read] == UInt8(ascii: "\\"),
                raw[read + 1] == UInt8(ascii: "u"), let low = hexQuad(raw, at: read + 2),
                (0xDC00...0xDFFF).contains(low)
            {
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                read += 6
            } else if !keepingLoneSurrogates, (0xD800...0xDFFF).contains(unit) {
                unit = 0xFFFD
            }
            written += writeUTF8(of: unit, to: out, at: written)
        }
        return written
    }

    /// The byte a one-letter escape stands for (`n` → line feed; `"`, `\`, `/` → themselves).
    private static func simpleEscape(_ letter: UInt8) -> UInt8 {
        switch letter {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: letter
        }
    }

    /// Writes the UTF-8 encoding of a code point (at most 0x10FFFF; a surrogate gets the three
    /// bytes of the generalised encoding, as in WTF-8) when it fits; returns the number of bytes written.
    private static func writeUTF8(of scalar: UInt32, to out: UnsafeMutableBufferPointer<UInt8>, at index: Int) -> Int {
        let length = scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4
        guard index >= 0, index + length <= out.count else { return 0 }
        switch length {
        case 1:
            out[index] = UInt8(scalar)
        case 2:
            out[index] = UInt8(0xC0 | scalar >> 6)
            out[index + 1] = UInt8(0x80 | scalar & 0x3F)
        case 3:
            out[index] = UInt8(0xE0 | scalar >> 12)
            out[index + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[index + 2] = UInt8(0x80 | scalar & 0x3F)
        default:
            out[index] = UInt8(0xF0 | scalar >> 18 & 0x07)
            out[index + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            out[index + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[index + 3] = UInt8(0x80 | scalar & 0x3F)
        }
        return length
    }

    /// The value of an integer literal (`-?[0-9]+`), or nil when it is not one or overflows Int64.
    static func parseInt64(_ digits: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        let negative = !digits.isEmpty && digits[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < digits.count else { return nil }
        // Accumulate negatively so that Int64.min fits.
        var value: Int64 = 0
        while index < digits.count {
            let digit = digits[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }
}
