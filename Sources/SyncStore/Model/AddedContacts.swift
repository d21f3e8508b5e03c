/// What ``ContactStore/addContacts(now:_:)`` did.
public struct AddedContacts: Sendable, Hashable {
    /// New rows.
    public var added = 0
    /// Rows that existed disabled and were enabled again.
    public var reenabled = 0
    /// Rows that existed enabled.
    public var unchanged = 0
    /// References given again in the same call (each contact is counted once above).
    public var repeated = 0

    public init(added: Int = 0, reenabled: Int = 0, unchanged: Int = 0, repeated: Int = 0) {
        self.added = added
        self.reenabled = reenabled
        self.unchanged = unchanged
        self.repeated = repeated
    }
}
