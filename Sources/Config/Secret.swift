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
