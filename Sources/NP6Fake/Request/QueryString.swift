/// Decodes a URL query string the way form-handling servers do.
///
/// `+` decodes to a space and `%XX` to a byte; the bytes must be UTF-8. A client that sends a
/// unicity like `a+b@x.com` without encoding the `+` therefore asks for `a b@x.com` and gets a
/// 404 — the mistake the real API punishes too.
enum QueryString {
    struct DecodingError: Error, CustomStringConvertible {
        let component: Substring
        var description: String { "invalid percent-encoding in query component '\(component)'" }
    }

    /// The query's name/value pairs in order; a component without `=` has an empty value.
    static func decode(_ query: String?) throws(DecodingError) -> [(name: String, value: String)] {
        guard let query, !query.isEmpty else { return [] }
        var pairs: [(name: String, value: String)] = []
        for component in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let equals = component.firstIndex(of: "=") {
                name = component[..<equals]
                value = component[component.index(after: equals)...]
            } else {
                name = component
                value = ""
            }
            guard let decodedName = percentDecode(name), let decodedValue = percentDecode(value) else {
                throw DecodingError(component: component)
            }
            pairs.append((decodedName, decodedValue))
        }
        return pairs
    }

    /// Decodes `%XX` escapes and `+`; `nil` for a bad escape or bytes that are not UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
