extension FakeNP6State {
    /// Holds every stop-events answer, once decided, until `releaseResponses()`: tests use it to
    /// run a command while a poll is in flight. With `afterElements`, a `200` body is held after
    /// that many elements instead (they are sent first), an answer without such a body not at all.
    public func holdResponses(afterElements: Int? = nil) {
        holding.isOn = true
        holding.afterElements = afterElements
    }

    /// Lets the held answers, and every later one, go.
    public func releaseResponses() {
        holding.isOn = false
        for waiter in holding.waiters { waiter.resume() }
        holding.waiters = []
    }

    /// Returns once `count` answers are being held.
    public func waitUntilHolding(_ count: Int) async {
        guard holding.waiters.count < count else { return }
        await withCheckedContinuation { holding.watchers.append((count, $0)) }
    }

    /// Waits while answers are held before their head (the route calls it after deciding the answer).
    func waitBeforeHeadWhileHeld() async {
        guard holding.afterElements == nil else { return }
        await waitWhileHeld()
    }

    /// Waits while answers are held.
    func waitWhileHeld() async {
        guard holding.isOn else { return }
        await withCheckedContinuation { continuation in
            holding.waiters.append(continuation)
            let (ready, waiting) = holding.watchers.partitioned { $0.count <= holding.waiters.count }
            holding.watchers = waiting
            for watcher in ready { watcher.continuation.resume() }
        }
    }
}

/// The answers held back by `holdResponses()`.
struct ResponseHolding {
    var isOn = false
    var afterElements: Int?
    var waiters: [CheckedContinuation<Void, Never>] = []
    var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
}

extension Array {
    fileprivate func partitioned(by belongsInFirst: (Element) -> Bool) -> ([Element], [Element]) {
        (filter(belongsInFirst), filter { !belongsInFirst($0) })
    }
}
