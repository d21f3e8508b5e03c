/// A credential read from a file or the environment: the NP6 API key or a webhook's HMAC secret.
///
/// Printing, interpolating, dumping or logging a `Secret` shows `<redacted>`; only
/// ``unredactedValue`` gives the text, and that name should stand out at the one call site that
/// needs it (the `X-Key` header, the HMAC).
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The secret itself. Never log it, store it or put it in an error.
    public let unredactedValue: String

    public init(unredactedValue: String) {
        self.unredactedValue = unredactedValue
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// The NP6 API key, sent as the `X-Key` header. See ``APIConfiguration/resolveKey(environment:)``.
public typealias APIKey = Secret

extension Secret {
    /// The HMAC key of a Standard Webhooks secret: the bytes of the base64 text after an optional
    /// `whsec_` prefix (standard alphabet, padding optional), as the standardwebhooks libraries
    /// read it; `nil` when the text is not such a secret or decodes to nothing.
    public var standardWebhooksKey: [UInt8]? {
        var text = Substring(unredactedValue)
        if text.hasPrefix("whsec_") { text = text.dropFirst(6) }
        while text.hasSuffix("=") { text = text.dropLast() }
        guard text.utf8.count % 4 != 1 else { return nil }
        var key: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return nil
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                key.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return key.isEmpty ? nil : key
    }
}
