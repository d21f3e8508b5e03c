/// One request to the stop-events route, as the fake answered it.
public struct FakeRequest: Sendable, Hashable {
    /// Query parameters, percent-decoded (`+` decoded as a space); the first value of a repeated name.
    public let query: [String: String]
    /// The HTTP status answered.
    public let status: Int
    /// When the request was answered, in ms since 1970.
    public let atMs: Int64

    public init(query: [String: String], status: Int, atMs: Int64) {
        self.query = query
        self.status = status
        self.atMs = atMs
    }
}
