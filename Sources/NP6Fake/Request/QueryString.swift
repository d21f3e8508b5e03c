import NP6Model

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
            guard let decodedName = PercentDecoding.decode(name, plusAsSpace: true),
                let decodedValue = PercentDecoding.decode(value, plusAsSpace: true)
            else {
                throw DecodingError(component: component)
            }
            pairs.append((decodedName, decodedValue))
        }
        return pairs
    }
}
