/// How a request names a contact: exactly one of the three query parameters of the stop-events endpoint.
public enum ContactKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// The contact's NP6 id, e.g. `000R4M0T`.
    case id
    /// The contact's unicity value, often an e-mail address.
    case unicity
    /// The contact's hash (32 hex characters in the NP6 examples).
    case hash
}
