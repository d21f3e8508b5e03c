import Synchronization

/// One np6-sync process in the world. A crash is what SIGKILL leaves: from that moment it makes
/// no request and no write; what its write queue committed before stays, the rest is lost.
public final class SimulatedInstance: Sendable {
    private let crashed = Mutex(false)

    public init() {}

    public var isCrashed: Bool { crashed.withLock { $0 } }

    func crash() { crashed.withLock { $0 = true } }
}

/// The error a write gets once its instance has crashed (the process no longer exists).
struct SimulatedCrash: Error, CustomStringConvertible {
    var description: String { "simulated crash: the process is gone" }
}
