/// An array element that is not a usable event, kept aside with its bytes.
///
/// The product quarantines these (raw bytes plus reason) instead of dropping them or
/// failing the whole body.
public struct MalformedElement: Sendable, Hashable {
    /// The element's bytes as received (for an oversized element, its first bytes only).
    public var raw: [UInt8]
    /// A short fixed phrase naming the problem, e.g. `missing id` or
    /// `invalid JSON at byte 17: unterminated string`.
    public var reason: String

    public init(raw: [UInt8], reason: String) {
        self.raw = raw
        self.reason = reason
    }
}
