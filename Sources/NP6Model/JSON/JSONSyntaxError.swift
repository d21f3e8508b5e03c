/// A syntax error found by `JSONScanner`: where (a 0-based byte offset) and what.
struct JSONSyntaxError: Error, Sendable, Hashable {
    var offset: Int
    var message: String
}
