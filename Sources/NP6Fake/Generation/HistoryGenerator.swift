/// Makes each contact's historical events from a seed.
///
/// A contact's events depend only on the seed, its index and the history bounds, so adding
/// contacts never changes the events of the existing ones.
struct HistoryGenerator {
    let seed: UInt64
    let eventsPerContact: ClosedRange<Int>
    let startMs: Int64
    let endMs: Int64

    /// The events of the contact at `index`, in API order (timestamp, then id).
    func makeEvents(contactIndex index: Int) -> [EventRecord] {
        var counts = SeededGenerator(seed: seed, stream: GeneratorStream.eventCounts, index: UInt64(index))
        let lower = max(0, eventsPerContact.lowerBound)
        let upper = max(lower, eventsPerContact.upperBound)
        let count = lower + Int(counts.next() % UInt64(upper - lower + 1))
        var random = SeededGenerator(seed: seed, stream: GeneratorStream.events, index: UInt64(index))
        let span = UInt64(max(0, endMs - startMs)) + 1
        var records: [EventRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count {
            let timestamp = startMs + Int64(random.next() % span)
            records.append(EventRecord(timestampMs: timestamp, arrivedMs: timestamp, random: &random))
        }
        records.sort(by: EventRecord.apiOrder)
        return records
    }
}
