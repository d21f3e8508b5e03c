/// One request the `RateLimiter` allowed to start, numbered in the order they were allowed. It
/// comes back with the answer's head (`RequestPacer.observe`), or alone when there was none
/// (`RequestPacer.finish`).
public struct RequestTicket: Sendable, Hashable, Comparable {
    let number: Int

    public static func < (lhs: RequestTicket, rhs: RequestTicket) -> Bool { lhs.number < rhs.number }
}
