/// Why `JSONValue.parse` rejected a document, located for a human editing it.
///
/// `description` reads `line 3, column 14: expected ',' or '}'`. Lines and columns start at 1;
/// columns count Unicode scalars.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }

    /// Locates a scanner error at a byte offset of `bytes`.
    init(_ error: JSONSyntaxError, in bytes: UnsafeBufferPointer<UInt8>) {
        var line = 1
        var column = 1
        for index in 0..<min(error.offset, bytes.count) {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {  // not a UTF-8 continuation byte
                column += 1
            }
        }
        self.init(line: line, column: column, message: error.message)
    }
}
