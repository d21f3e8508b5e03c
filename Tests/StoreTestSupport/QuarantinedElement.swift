/// A row of `quarantine`: an element of a response body that was not a valid stop event.
public struct QuarantinedElement: Sendable, Hashable {
    /// The contact whose body held it; `nil` when the contact row was deleted by hand.
    public var contactID: Int64?
    /// Why it was set aside, e.g. `missing field "date"`.
    public var reason: String
    /// The element's bytes exactly as received.
    public var raw: [UInt8]

    public init(contactID: Int64?, reason: String, raw: [UInt8]) {
        self.contactID = contactID
        self.reason = reason
        self.raw = raw
    }
}
