/// Why `JSONArraySplitter` gave up on a response body.
///
/// Offsets count bytes from the start of the body (0-based). Every case means the body as a
/// whole cannot be trusted: treat it as a transient fault and retry the request.
public enum JSONArraySplitterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The first non-whitespace byte is not `[`: the body is an object, a string, an HTML page…
    case notAnArray(offset: Int)
    /// Structural breakage the splitter cannot resynchronise from: a `}` closing the array, or
    /// bytes other than whitespace after the closing `]`.
    case unexpectedByte(offset: Int, byte: UInt8)
    /// An element nests brackets deeper than the splitter's `maxDepth`.
    case tooDeep(offset: Int)
    /// The body ended before the closing `]` (reported by `finish()`).
    case truncated(bytesConsumed: Int)

    public var description: String {
        switch self {
        case .notAnArray(let offset):
            return "the response body is not a JSON array (byte \(offset) is not '['); "
                + "check the endpoint URL and the response's status and content type"
        case .unexpectedByte(let offset, let byte):
            return "unexpected byte \(Self.describe(byte)) at offset \(offset) of the JSON array; "
                + "the body is corrupt, retry the request"
        case .tooDeep(let offset):
            return "an element of the JSON array nests too deeply at offset \(offset); "
                + "the body is corrupt or hostile, retry the request"
        case .truncated(let bytesConsumed):
            return "the JSON array ended after \(bytesConsumed) bytes without its closing ']'; "
                + "the connection was probably cut, retry the request"
        }
    }

    /// `0x7D ('}')` for printable ASCII, `0xC3` otherwise.
    private static func describe(_ byte: UInt8) -> String {
        let hexDigits = Array("0123456789ABCDEF")
        let hex = "0x\(hexDigits[Int(byte >> 4)])\(hexDigits[Int(byte & 0x0F)])"
        guard byte >= 0x20, byte < 0x7F else { return hex }
        return "\(hex) ('\(Character(Unicode.Scalar(byte)))')"
    }
}
