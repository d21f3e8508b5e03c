/// One element cut out of a top-level JSON array by `JSONArraySplitter`.
public enum SplitElement: Sendable, Hashable {
    /// The raw bytes of one element, surrounding whitespace trimmed; empty for an empty
    /// element such as the middle of `[1,,2]`.
    case element([UInt8])
    /// An element longer than the splitter's `maxElementBytes`: its first bytes (at most
    /// `JSONArraySplitter.oversizedPrefixBytes`) and its length. The length counts from the
    /// element's first non-whitespace byte to the separator that ends it.
    case oversized(prefix: [UInt8], totalBytes: Int)
}
