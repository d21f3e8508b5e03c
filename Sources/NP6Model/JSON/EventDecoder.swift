/// Turns one element of a stop-events array into a `StopEvent`, or into a `MalformedElement`
/// that names the problem.
///
/// It validates the whole element as JSON and extracts the columns in one pass over the bytes,
/// without building a tree: the only allocations are the extracted strings.
///
/// ```swift
/// switch EventDecoder.decode(element) {
/// case .event(let event): events.append(event)
/// case .malformed(let bad): quarantine.append(bad)  // bad.reason: "missing id", …
/// }
/// ```
public enum EventDecoder {
    /// Longer ids (in UTF-8 bytes of their stored form, `StoredText`) are rejected.
    public static let maxIDBytes = 512
    /// Deeper nesting is rejected as invalid JSON.
    public static let maxDepth = 512

    /// Validates that `raw` is exactly one valid JSON value (RFC 8259) that is an object, and
    /// extracts the columns.
    ///
    /// Rules: `id` is a string (any JSON string: U+0000 and lone surrogate escapes included)
    /// whose stored form has at most `maxIDBytes` bytes; `timestamp` is an integer literal (no
    /// fraction, no exponent) within Int64; neither key appears twice at the top level. `type`,
    /// `identity.type` and `source.type` are extracted when they are strings (the last one wins
    /// if a key repeats). Strings come out in their stored form (`StoredText`): the id is its
    /// JSON string byte for byte, distinct ids stay distinct. The payload is `raw` unchanged.
    public static func decode(_ raw: [UInt8]) -> ArrayElement {
        let outcome = raw.withUnsafeBufferPointer { bytes in extract(from: bytes) }
        switch outcome {
        case .success(let fields):
            return .event(
                StopEvent(
                    id: fields.id,
                    timestampMs: fields.timestamp,
                    type: fields.type,
                    identityType: fields.identityType,
                    sourceType: fields.sourceType,
                    payload: raw
                )
            )
        case .failure(let problem):
            return .malformed(MalformedElement(raw: raw, reason: problem.reason))
        }
    }

    /// Decodes a splitter element; an oversized one is malformed, with its prefix as raw bytes.
    ///
    /// The reason names `JSONArraySplitter.defaultMaxElementBytes` as the limit; use
    /// `decode(_:maxElementBytes:)` when the splitter was built with another one.
    public static func decode(_ element: SplitElement) -> ArrayElement {
        decode(element, maxElementBytes: JSONArraySplitter.defaultMaxElementBytes)
    }

    /// Decodes a splitter element; an oversized one is malformed, with its prefix as raw bytes
    /// and a reason naming `maxElementBytes`.
    public static func decode(_ element: SplitElement, maxElementBytes: Int) -> ArrayElement {
        switch element {
        case .element(let raw):
            return decode(raw)
        case .oversized(let prefix, let totalBytes):
            let reason = "element of \(totalBytes) bytes exceeds the limit of \(maxElementBytes) bytes"
            return .malformed(MalformedElement(raw: prefix, reason: reason))
        }
    }

    // MARK: - Extraction

    private struct Problem: Error {
        var reason: String
    }

    private struct Fields {
        var id = ""
        var timestamp: Int64 = 0
        var type: String?
        var identityType: String?
        var sourceType: String?
    }

    /// What the member walk saw, judged only once the whole element proved to be valid JSON.
    private struct Findings {
        var idCount = 0
        var id: String?
        var idProblem: String?
        var timestampCount = 0
        var timestamp: Int64?
        var timestampProblem: String?
        var type: String?
        var identityType: String?
        var sourceType: String?
    }

    private enum Key {
        case id, timestamp, type, identity, source, other
    }

    private static func extract(from bytes: UnsafeBufferPointer<UInt8>) -> Result<Fields, Problem> {
        guard bytes.contains(where: { !isWhitespace($0) }) else {
            return .failure(Problem(reason: "empty element"))
        }
        var scanner = JSONScanner(bytes, maxDepth: maxDepth, allowsLoneSurrogates: true)
        var findings = Findings()
        do throws(JSONSyntaxError) {
            let first = try scanner.next()
            guard first == .beginObject else {
                // Invalid JSON outranks "not an object": validate the rest first.
                try scanner.skipValue(startingWith: first)
                _ = try scanner.next()
                return .failure(Problem(reason: "not a JSON object"))
            }
            try walkMembers(&scanner, into: &findings)
            _ = try scanner.next()  // `.end`, or throws on trailing data
        } catch {
            return .failure(Problem(reason: "invalid JSON at byte \(error.offset): \(error.message)"))
        }
        return judge(findings)
    }

    /// Walks the top-level members of the object whose `{` was just read.
    private static func walkMembers(
        _ scanner: inout JSONScanner,
        into findings: inout Findings
    ) throws(JSONSyntaxError) {
        while true {
            let token = try scanner.next()
            guard case .key(let keySpan) = token else { return }  // `.endObject`
            let value = try scanner.next()
            switch classify(keySpan, in: scanner) {
            case .id:
                findings.idCount += 1
                guard findings.idCount == 1 else {
                    try scanner.skipValue(startingWith: value)
                    continue
                }
                guard case .string(let span) = value else {
                    findings.idProblem = "id is not a string"
                    try scanner.skipValue(startingWith: value)
                    continue
                }
                // An unescaped span is its own stored form: its length is the id's length.
                if !span.hasEscapes && span.end - span.start > maxIDBytes {
                    findings.idProblem = "id is longer than \(maxIDBytes) bytes"
                    continue
                }
                let id = storedForm(span, in: scanner)
                if id.utf8.count > maxIDBytes {
                    findings.idProblem = "id is longer than \(maxIDBytes) bytes"
                } else {
                    findings.id = id
                }
            case .timestamp:
                findings.timestampCount += 1
                guard findings.timestampCount == 1 else {
                    try scanner.skipValue(startingWith: value)
                    continue
                }
                guard case .number(let span) = value, span.isInteger else {
                    findings.timestampProblem = "timestamp is not an integer"
                    try scanner.skipValue(startingWith: value)
                    continue
                }
                let digits = UnsafeBufferPointer(rebasing: scanner.bytes[span.start..<span.end])
                if let timestamp = JSONScanner.parseInt64(digits) {
                    findings.timestamp = timestamp
                } else {
                    findings.timestampProblem = "timestamp is out of the int64 range"
                }
            case .type:
                if case .string(let span) = value {
                    findings.type = storedForm(span, in: scanner)
                } else {
                    findings.type = nil
                    try scanner.skipValue(startingWith: value)
                }
            case .identity:
                findings.identityType = try typeMember(of: value, in: &scanner)
            case .source:
                findings.sourceType = try typeMember(of: value, in: &scanner)
            case .other:
                try scanner.skipValue(startingWith: value)
            }
        }
    }

    /// The string `type` member of an object value (consuming the value whatever it is).
    private static func typeMember(
        of value: JSONScanner.Token,
        in scanner: inout JSONScanner
    ) throws(JSONSyntaxError) -> String? {
        guard value == .beginObject else {
            try scanner.skipValue(startingWith: value)
            return nil
        }
        var type: String?
        while true {
            let token = try scanner.next()
            guard case .key(let keySpan) = token else { return type }  // `.endObject`
            let member = try scanner.next()
            if classify(keySpan, in: scanner) == .type {
                if case .string(let span) = member {
                    type = storedForm(span, in: scanner)
                    continue
                }
                type = nil
            }
            try scanner.skipValue(startingWith: member)
        }
    }

    private static func judge(_ findings: Findings) -> Result<Fields, Problem> {
        func problem(_ reason: String) -> Result<Fields, Problem> { .failure(Problem(reason: reason)) }
        if findings.idCount > 1 { return problem("duplicate key \"id\"") }
        if findings.timestampCount > 1 { return problem("duplicate key \"timestamp\"") }
        if findings.idCount == 0 { return problem("missing id") }
        if let idProblem = findings.idProblem { return problem(idProblem) }
        guard let id = findings.id else { return problem("missing id") }
        if findings.timestampCount == 0 { return problem("missing timestamp") }
        if let timestampProblem = findings.timestampProblem { return problem(timestampProblem) }
        guard let timestamp = findings.timestamp else { return problem("missing timestamp") }
        return .success(
            Fields(
                id: id,
                timestamp: timestamp,
                type: findings.type,
                identityType: findings.identityType,
                sourceType: findings.sourceType
            )
        )
    }

    /// A string value in the form the stores keep it (`StoredText`).
    private static func storedForm(_ span: JSONScanner.StringSpan, in scanner: JSONScanner) -> String {
        // Unescaped content is valid UTF-8 with no U+0000 and cannot begin with a quote: its own form.
        guard span.hasEscapes else { return scanner.decodeString(span) }
        return StoredText.form(ofWTF8: scanner.decodeWTF8(span))
    }

    private static func classify(_ span: JSONScanner.StringSpan, in scanner: JSONScanner) -> Key {
        if span.hasEscapes {
            switch scanner.decodeString(span) {
            case "id": return .id
            case "timestamp": return .timestamp
            case "type": return .type
            case "identity": return .identity
            case "source": return .source
            default: return .other
            }
        }
        let key = scanner.slice(span)
        switch key.count {
        case 2: return matches(key, "id") ? .id : .other
        case 4: return matches(key, "type") ? .type : .other
        case 6: return matches(key, "source") ? .source : .other
        case 8: return matches(key, "identity") ? .identity : .other
        case 9: return matches(key, "timestamp") ? .timestamp : .other
        default: return .other
        }
    }

    private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for i in 0..<bytes.count where bytes[i] != expected[i] {
            return false
        }
        return true
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
