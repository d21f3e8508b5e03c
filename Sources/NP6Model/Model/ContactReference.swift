/// A contact as the API names it: a kind and a value, e.g. `unicity:someone@example.com`.
public struct ContactReference: Sendable, Hashable, Codable, CustomStringConvertible {
    public var kind: ContactKind
    public var value: String

    public init(kind: ContactKind, value: String) {
        self.kind = kind
        self.value = value
    }

    /// Parses the `KIND:VALUE` form used on the command line and in contacts files.
    ///
    /// Only the first `:` separates: `unicity:a:b@x.com` is the unicity `a:b@x.com`.
    /// Returns `nil` when the kind is unknown or the value is empty.
    public init?(parsing text: some StringProtocol) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        guard let kind = ContactKind(rawValue: String(text[..<colon])) else { return nil }
        let value = String(text[text.index(after: colon)...])
        guard !value.isEmpty else { return nil }
        self.init(kind: kind, value: value)
    }

    /// `KIND:VALUE`, the form `init?(parsing:)` reads.
    public var description: String { "\(kind.rawValue):\(value)" }
}
