import NP6Model

/// Contacts read from a file or standard input, for `contactsFile` and `contacts import`.
///
/// Two formats, told apart by the first character:
/// - a JSON array, as in the config file: `[{"unicity": "someone@example.com"}, {"id": "000R4M0T"}]`;
/// - one `KIND:VALUE` per line; blank lines and lines starting with `#` are skipped, whitespace
///   around the kind and the value is trimmed, CRLF line ends are accepted:
///   ```
///   # exported from the CRM on 2024-05-02
///   unicity:someone@example.com
///   id:000R4M0T
///   hash:0d5a3ad7b6f8e1c2a4b9d8e7f6a5b4c3
///   ```
///   Only the first `:` separates, so `unicity:a:b@example.com` is the unicity `a:b@example.com`.
///   A `#` after a value is part of the value.
public struct ContactList: Sendable, Hashable {
    /// The contacts in the order listed, each once.
    public var contacts: [ContactReference]
    /// How many entries repeated an earlier one and were dropped.
    public var duplicateCount: Int

    public init(contacts: [ContactReference], duplicateCount: Int = 0) {
        self.contacts = contacts
        self.duplicateCount = duplicateCount
    }

    /// Reads a contacts file; `"-"` reads standard input.
    ///
    /// - Throws: when the file cannot be read, and every bad line or element, each with its line
    ///   number or index.
    public static func load(path: String) throws(ConfigurationError) -> ContactList {
        let source = path == "-" ? "standard input" : path
        let bytes: [UInt8]
        do {
            bytes = try ConfigurationFiles.contents(atPath: path)
        } catch {
            throw ConfigurationError(path: source, message: "cannot read the contacts: \(error.reason)")
        }
        return try parse(bytes, source: source)
    }

    /// Parses a contacts list held in memory.
    ///
    /// - Parameter source: prefixes each issue's path (`contacts.txt: line 7`); `nil` leaves the
    ///   bare `line 7` or `[3].hash`.
    public static func parse(_ text: String, source: String? = nil) throws(ConfigurationError) -> ContactList {
        try parse(Array(text.utf8), source: source)
    }

    /// Parses a contacts list from raw bytes (UTF-8, an optional byte-order mark).
    public static func parse(
        _ bytes: some Collection<UInt8>,
        source: String? = nil
    ) throws(ConfigurationError) -> ContactList {
        var bytes = Array(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) })
        if first == UInt8(ascii: "[") || first == UInt8(ascii: "{") {
            return try parseJSON(bytes, source: source)
        }
        return try parseLines(bytes, source: source)
    }

    private static func parseJSON(_ bytes: [UInt8], source: String?) throws(ConfigurationError) -> ContactList {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw ConfigurationError(
                path: source ?? "contacts",
                message: "line \(error.line), column \(error.column): \(error.message)"
            )
        }
        let decoder = ConfigurationDecoder(baseDirectory: "/")
        let list = decoder.contacts(value, at: ConfigurationKeyPath(prefix: source), duplicates: .skip)
        try decoder.throwIfIssues()
        return ContactList(contacts: list?.contacts ?? [], duplicateCount: list?.duplicateCount ?? 0)
    }

    private static func parseLines(_ bytes: [UInt8], source: String?) throws(ConfigurationError) -> ContactList {
        var contacts: [ContactReference] = []
        var seen: Set<ContactReference> = []
        var duplicateCount = 0
        var start = bytes.startIndex
        let issues = scanLines(source: source) {
            guard start < bytes.endIndex else { return nil }
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            defer { start = end + 1 }
            return bytes[start..<end]
        } contact: { contact in
            if seen.insert(contact).inserted {
                contacts.append(contact)
            } else {
                duplicateCount += 1
            }
        }
        guard issues.isEmpty else { throw ConfigurationError(issues: issues) }
        return ContactList(contacts: contacts, duplicateCount: duplicateCount)
    }

    /// Reads a contacts file entry by entry and hands each contact to `body` as it is read, so
    /// that a list of a million lines is never held in memory. Repeated entries are handed over
    /// again. Bad lines are all reported at the end, after `body` has seen the good ones: the
    /// caller undoes what it did with them (`SQLiteEventStore.addContacts(now:_:)` runs in one
    /// transaction). A JSON list is read whole, then handed over.
    ///
    /// - Returns: the repeated entries that were dropped before `body` (a JSON list's).
    /// - Throws: `ConfigurationError` with every bad line or element; `body`'s errors.
    @discardableResult
    public static func forEachContact(inFile path: String, _ body: (ContactReference) throws -> Void) throws -> Int {
        let source = path == "-" ? "standard input" : path
        func readError(_ error: ConfigurationFiles.ReadError) -> ConfigurationError {
            ConfigurationError(path: source, message: "cannot read the contacts: \(error.reason)")
        }
        do {
            let reader = try ConfigurationFiles.LineReader(path: path)
            let first = try reader.firstNonBlankByte()
            if first == UInt8(ascii: "[") || first == UInt8(ascii: "{") {
                let list = try parse(reader.rest(), source: source)
                for contact in list.contacts { try body(contact) }
                return list.duplicateCount
            }
            let issues = try scanLines(
                source: source, next: { () throws(any Error) in try reader.nextLine() }, contact: body)
            guard issues.isEmpty else { throw ConfigurationError(issues: issues) }
            return 0
        } catch let error as ConfigurationFiles.ReadError {
            throw readError(error)
        }
    }

    /// Parses lines until `next` returns `nil`, handing each contact over; returns the bad lines.
    private static func scanLines<Failure: Error>(
        source: String?,
        next: () throws(Failure) -> ArraySlice<UInt8>?,
        contact: (ContactReference) throws(Failure) -> Void
    ) throws(Failure) -> [ConfigurationIssue] {
        var issues: [ConfigurationIssue] = []
        var number = 0
        while let line = try next() {
            number += 1
            switch parseLine(line) {
            case .skip:
                continue
            case .failure(let message):
                issues.append(
                    ConfigurationIssue(
                        path: source.map { "\($0): line \(number)" } ?? "line \(number)", message: message))
            case .contact(let reference):
                try contact(reference)
            }
        }
        return issues
    }

    private enum LineResult {
        case skip
        case contact(ContactReference)
        case failure(String)
    }

    private static func parseLine(_ bytes: ArraySlice<UInt8>) -> LineResult {
        guard let line = String(validating: bytes, as: UTF8.self) else {
            return .failure("not valid UTF-8 text")
        }
        let text = line.trimmingSurroundingWhitespace()
        if text.isEmpty || text.hasPrefix("#") { return .skip }
        guard let colon = text.firstIndex(of: ":") else {
            return .failure("expected KIND:VALUE such as unicity:someone@example.com, got \(quoted(text))")
        }
        let kindName = text[..<colon].trimmingSurroundingWhitespace()
        guard let kind = ContactKind(rawValue: kindName) else {
            return .failure("unknown kind \(quoted(kindName)); expected id, unicity or hash")
        }
        let value = text[text.index(after: colon)...].trimmingSurroundingWhitespace()
        guard !value.isEmpty else {
            return .failure("no value after \"\(kind.rawValue):\"")
        }
        return .contact(ContactReference(kind: kind, value: value))
    }
}
