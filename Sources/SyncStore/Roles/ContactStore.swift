import NP6Model

/// The contacts a database polls: what `contacts add|remove|list|set-watermark|reset|recheck`,
/// the config's contact list and the pollers read and change (see ``EventStore``).
public protocol ContactStore: Sendable {
    /// Adds the contacts that `produce` hands to `add`, one by one, in a single transaction: when
    /// `produce` throws, nothing is added. New contacts are due at once; removed ones are enabled
    /// again. `produce` may read a file as it goes, so a million contacts never sit in memory.
    /// - Returns: what was added, and what `produce` returned.
    func addContacts<Produced: Sendable>(
        now: Int64,
        _ produce: @escaping @Sendable (_ add: (ContactReference) throws -> Void) throws -> Produced
    ) async throws -> (added: AddedContacts, produced: Produced)

    /// Stops polling a contact. Its row stays, so that its stored events keep their contact;
    /// adding it again resumes from its watermark. Returns false when no such contact is enabled.
    func removeContact(_ reference: ContactReference) async throws -> Bool

    /// One contact by reference, enabled or not.
    func contact(_ reference: ContactReference) async throws -> StoredContact?

    /// A page of contacts in `id` order, after `afterID`.
    func contacts(afterID: Int64, limit: Int, enabledOnly: Bool) async throws -> [StoredContact]

    /// Sets a contact's watermark (`nil`: re-read from `sync.initialStart`) and makes it due now.
    /// Returns false for an unknown contact.
    func setWatermark(_ reference: ContactReference, to watermarkMs: Int64?, now: Int64) async throws -> Bool

    /// Makes enabled contacts due now (`contacts recheck`): those named, whatever their status.
    /// A contact due earlier keeps its place. Returns the references that are not enabled contacts.
    func recheckContacts(_ references: [ContactReference], now: Int64) async throws -> [ContactReference]

    /// Makes every enabled contact whose last poll was a 404 (`not_found`) due now, in one
    /// transaction. Returns how many.
    func recheckNotFoundContacts(now: Int64) async throws -> Int
}

extension ContactStore {
    /// Adds contacts, or enables them again if they were removed; new ones are due at once.
    public func addContacts(_ references: [ContactReference], now: Int64) async throws -> AddedContacts {
        try await addContacts(now: now) { add in
            for reference in references { try add(reference) }
        }.added
    }

    public func contacts(limit: Int, enabledOnly: Bool) async throws -> [StoredContact] {
        try await contacts(afterID: 0, limit: limit, enabledOnly: enabledOnly)
    }
}
