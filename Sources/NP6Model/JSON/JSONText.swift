/// The one JSON string escaper of np6-sync, for JSON written by hand: the sink record (which
/// embeds the stored event verbatim, something `JSONEncoder` cannot do), log lines in JSON, and
/// ``JSONValue/jsonText``.
///
/// ```swift
/// JSONText.quoted("say \"hi\"\n")   // "\"say \\\"hi\\\"\\n\""
/// ```
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &output)
        return output
    }

    /// Appends `text` as a JSON string literal, quotes included: `"` and `\` escaped, line feed,
    /// carriage return and tab as `\n`, `\r`, `\t`, the other control characters as `\u00xx`;
    /// everything else, non-ASCII included, as it is.
    public static func appendQuoted(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension JSONText {
    /// `json` without the whitespace outside its strings: a pretty-printed document on one line.
    ///
    /// ```swift
    /// JSONText.minified("{\n  \"note\": \"a b\"\n}")   // "{\"note\":\"a b\"}"
    /// ```
    /// Everything else is copied byte for byte: escapes, number text and key order stay as they
    /// are. A line feed can only be whitespace in valid JSON (inside a string it is escaped), so
    /// the result of a valid document holds none. `json` must be valid JSON (a stored event is);
    /// other text is only copied without its whitespace outside what look like strings.
    public static func minified(_ json: String) -> String {
        let isWhitespace: (UInt8) -> Bool = { byte in
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): true
            default: false
            }
        }
        // NP6 sends compact JSON as a rule: returned as it is, without a copy.
        guard json.utf8.contains(where: isWhitespace) else { return json }
        var output: [UInt8] = []
        output.reserveCapacity(json.utf8.count)
        var inString = false
        var escaped = false
        for byte in json.utf8 {
            if inString {
                output.append(byte)
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if !isWhitespace(byte) {
                output.append(byte)
                inString = byte == UInt8(ascii: "\"")
            }
        }
        // Only ASCII bytes were dropped, between whole characters: still valid UTF-8.
        return String(decoding: output, as: UTF8.self)
    }
}
