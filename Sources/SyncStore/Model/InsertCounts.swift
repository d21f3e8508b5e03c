/// How many elements of a batch were new, already stored, or quarantined.
public struct InsertCounts: Sendable, Hashable {
    public var new = 0
    public var duplicate = 0
    public var quarantined = 0

    public init(new: Int = 0, duplicate: Int = 0, quarantined: Int = 0) {
        self.new = new
        self.duplicate = duplicate
        self.quarantined = quarantined
    }

    public static func += (lhs: inout InsertCounts, rhs: InsertCounts) {
        lhs.new += rhs.new
        lhs.duplicate += rhs.duplicate
        lhs.quarantined += rhs.quarantined
    }
}
