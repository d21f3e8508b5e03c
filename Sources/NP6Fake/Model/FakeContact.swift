/// A contact of the fake, reachable by any of its three identifiers.
public struct FakeContact: Sendable, Hashable, Codable {
    /// NP6 id: `"000"` and five upper-case base-36 characters, e.g. `000R4M0T`.
    public let id: String
    /// Unicity value: an e-mail address, sometimes with a `+tag` or non-ASCII letters.
    public let unicity: String
    /// 32 lower-case hexadecimal characters, md5-like.
    public let hash: String

    public init(id: String, unicity: String, hash: String) {
        self.id = id
        self.unicity = unicity
        self.hash = hash
    }
}
