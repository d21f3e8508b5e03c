import NP6Model

/// A row of `contacts`.
public struct StoredContact: Sendable, Hashable {
    public var id: Int64
    public var reference: ContactReference
    public var enabled: Bool
    /// Every event with `timestamp < watermarkMs` is stored; `nil` until the first complete poll.
    public var watermarkMs: Int64?
    public var nextDueMs: Int64
    public var lastAttemptMs: Int64?
    public var lastSuccessMs: Int64?
    /// `nil` for a status this build does not know (written by hand or by a newer version).
    public var lastStatus: ContactStatus?
    public var lastError: String?
    public var consecutiveFailures: Int
    public var addedMs: Int64
    /// Bumped by operators' commands; a poll's writes carry the generation it started from.
    public var generation: Int64
    /// The lease token this instance claimed the contact with (see ``PollTarget``); `nil` when
    /// it was read without a claim.
    public var leaseToken: Int64?

    public init(
        id: Int64, reference: ContactReference, enabled: Bool, watermarkMs: Int64?, nextDueMs: Int64,
        lastAttemptMs: Int64?, lastSuccessMs: Int64?, lastStatus: ContactStatus?, lastError: String?,
        consecutiveFailures: Int, addedMs: Int64, generation: Int64, leaseToken: Int64? = nil
    ) {
        self.id = id
        self.reference = reference
        self.enabled = enabled
        self.watermarkMs = watermarkMs
        self.nextDueMs = nextDueMs
        self.lastAttemptMs = lastAttemptMs
        self.lastSuccessMs = lastSuccessMs
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.consecutiveFailures = consecutiveFailures
        self.addedMs = addedMs
        self.generation = generation
        self.leaseToken = leaseToken
    }

    /// What a poll of this contact writes to.
    public var pollTarget: PollTarget { PollTarget(id: id, generation: generation, leaseToken: leaseToken) }
}
