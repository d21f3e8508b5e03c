/// What ``SinkSupervisor/resendDeadLetters(of:)`` did.
public struct DeadLetterResendReport: Sendable, Hashable {
    /// Dead letters the receiver acknowledged this time.
    public var resent = 0
    /// Dead letters rejected again; their answer was updated.
    public var rejected = 0
    /// Dead letters whose event row no longer exists.
    public var missing = 0
    /// Why the resend stopped early (a transient failure or a refusing receiver).
    public var error: String?
}
