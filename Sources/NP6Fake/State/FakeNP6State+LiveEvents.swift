extension FakeNP6State {
    /// Publishes `count` events now on random contacts; a `lateFraction` of them get a timestamp
    /// up to `knobs.lateByMs` in the past.
    @discardableResult
    public func publish(count: Int, lateFraction: Double = 0) -> [FakeEvent] {
        advanceLiveEvents()
        let now = wallNowMs()
        return (0..<max(0, count)).compactMap { _ in
            insertLiveEvent(arrivedMs: now, lateFraction: lateFraction)
        }
    }

    /// Generates the live events that arrived between the previous generation and now, spread
    /// evenly over that time. Called on every access, so no timer is needed.
    func advanceLiveEvents() {
        let now = wallNowMs()
        let elapsedMs = now - liveGeneratedUntilMs
        guard elapsedMs > 0 else { return }
        defer { liveGeneratedUntilMs = now }
        guard knobs.liveEventsPerSecond > 0, !contacts.isEmpty else {
            liveCarry = 0
            return
        }
        let expected = knobs.liveEventsPerSecond * Double(elapsedMs) / 1000 + liveCarry
        let count = Int(expected.rounded(.down))
        liveCarry = expected - Double(count)
        for step in 0..<count {
            let arrived = liveGeneratedUntilMs + Int64(Double(elapsedMs) * Double(step + 1) / Double(count))
            insertLiveEvent(arrivedMs: arrived, lateFraction: knobs.lateFraction)
        }
    }

    @discardableResult
    private func insertLiveEvent(arrivedMs: Int64, lateFraction: Double) -> FakeEvent? {
        guard !contacts.isEmpty else { return nil }
        let index = Int(liveRandom.next() % UInt64(contacts.count))
        var timestamp = arrivedMs
        if liveRandom.chance(lateFraction), knobs.lateByMs > 0 {
            timestamp -= 1 + Int64(liveRandom.next() % UInt64(knobs.lateByMs))
        }
        let record = EventRecord(timestampMs: timestamp, arrivedMs: arrivedMs, random: &liveRandom)
        let position = insertionIndex(of: record, in: eventsByContact[index])
        eventsByContact[index].insert(record, at: position)
        return FakeEvent(contact: contacts[index], record: record)
    }
}

/// The first index at which `record` can be inserted keeping `records` in API order.
func insertionIndex(of record: EventRecord, in records: [EventRecord]) -> Int {
    var low = records.startIndex
    var high = records.endIndex
    while low < high {
        let middle = (low + high) / 2
        if EventRecord.apiOrder(records[middle], record) { low = middle + 1 } else { high = middle }
    }
    return low
}

/// The first index whose timestamp is at least `timestampMs`, in records kept in API order.
func firstIndex(atOrAfter timestampMs: Int64, in records: [EventRecord]) -> Int {
    var low = records.startIndex
    var high = records.endIndex
    while low < high {
        let middle = (low + high) / 2
        if records[middle].timestampMs < timestampMs { low = middle + 1 } else { high = middle }
    }
    return low
}
