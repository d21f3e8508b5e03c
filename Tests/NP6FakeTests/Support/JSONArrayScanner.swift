/// Checks that bytes fed to it, in any chunking, form one well-formed JSON array, and counts its
/// elements — without holding the body. It validates the structure (brackets, braces, strings and
/// escapes, commas and colons in their places) and the characters of scalars, loosely.
///
/// Written as one loop over local state so it stays fast in debug builds (tens of MB per test).
struct JSONArrayScanner {
    enum Failure: Error, Equatable {
        case notAnArray
        case unexpected(UInt8, offset: Int)
        case unterminated
    }

    // What may come next.
    private static let value: UInt8 = 0
    private static let valueOrClose: UInt8 = 1
    private static let commaOrClose: UInt8 = 2
    private static let key: UInt8 = 3
    private static let keyOrClose: UInt8 = 4
    private static let colon: UInt8 = 5

    private static let arrayOpen = UInt8(ascii: "[")
    private static let arrayClose = UInt8(ascii: "]")
    private static let objectOpen = UInt8(ascii: "{")
    private static let objectClose = UInt8(ascii: "}")
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    private(set) var elementCount = 0
    /// Open containers, innermost last: `[` or `{`.
    private var stack: [UInt8] = []
    private var expect = JSONArrayScanner.value
    private var inString = false
    private var escaped = false
    private var inScalar = false
    private var finished = false
    private var offset = 0
    private var failure: Failure?

    mutating func feed(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        array.withUnsafeBytes { feed($0) }
    }

    mutating func feed(_ buffer: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        var index = 0
        let count = buffer.count
        while index < count {
            let byte = buffer[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == Self.backslash {
                    escaped = true
                } else if byte == Self.quote {
                    inString = false
                } else if byte < 0x20 {
                    return fail(byte, at: index)
                }
                index += 1
                continue
            }
            if inScalar {
                if Self.isScalarByte(byte) {
                    index += 1
                    continue
                }
                inScalar = false
            }
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                index += 1
                continue
            }
            if finished { return fail(byte, at: index) }
            if expect == Self.value || (expect == Self.valueOrClose && byte != Self.arrayClose) {
                if stack.isEmpty {
                    guard byte == Self.arrayOpen else {
                        failure = .notAnArray
                        return
                    }
                } else if stack.count == 1 {
                    elementCount += 1
                }
                if byte == Self.arrayOpen {
                    stack.append(byte)
                    expect = Self.valueOrClose
                } else if byte == Self.objectOpen {
                    stack.append(byte)
                    expect = Self.keyOrClose
                } else if byte == Self.quote {
                    inString = true
                    expect = Self.commaOrClose
                } else if Self.isScalarByte(byte) {
                    inScalar = true
                    expect = Self.commaOrClose
                } else {
                    return fail(byte, at: index)
                }
            } else if byte == Self.arrayClose && (expect == Self.valueOrClose || expect == Self.commaOrClose) {
                guard stack.last == Self.arrayOpen else { return fail(byte, at: index) }
                close()
            } else if byte == Self.objectClose && (expect == Self.keyOrClose || expect == Self.commaOrClose) {
                guard stack.last == Self.objectOpen else { return fail(byte, at: index) }
                close()
            } else if byte == UInt8(ascii: ",") && expect == Self.commaOrClose {
                expect = stack.last == Self.objectOpen ? Self.key : Self.value
            } else if byte == Self.quote && (expect == Self.key || expect == Self.keyOrClose) {
                inString = true
                expect = Self.colon
            } else if byte == UInt8(ascii: ":") && expect == Self.colon {
                expect = Self.value
            } else {
                return fail(byte, at: index)
            }
            index += 1
        }
        offset += count
    }

    /// The element count of a complete array, or the first problem found.
    func finish() throws(Failure) -> Int {
        if let failure { throw failure }
        guard finished, !inString else { throw .unterminated }
        return elementCount
    }

    private mutating func close() {
        stack.removeLast()
        expect = Self.commaOrClose
        if stack.isEmpty { finished = true }
    }

    private mutating func fail(_ byte: UInt8, at index: Int) {
        failure = .unexpected(byte, offset: offset + index)
    }

    private static func isScalarByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "E")
    }
}
