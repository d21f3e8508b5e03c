/// Stream labels, so that adding a draw to one kind of generation never shifts another kind.
enum GeneratorStream {
    static let contacts: UInt64 = 1
    static let eventCounts: UInt64 = 2
    static let events: UInt64 = 3
    static let knobs: UInt64 = 4
    static let live: UInt64 = 5
    static let added: UInt64 = 6
    static let shuffle: UInt64 = 7
}
