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
