import NP6Model

/// Readers for values with a structure of their own: URLs, listen addresses, contacts.
extension ConfigurationDecoder {
    // MARK: URLs

    /// An `http` or `https` URL with a host and without credentials (the URL gets logged).
    func httpURL(_ value: JSONValue, at path: ConfigurationKeyPath, allowsQuery: Bool) -> String? {
        guard let text = nonEmptyString(value, at: path) else { return nil }
        if let problem = Self.httpURLProblem(text, allowsQuery: allowsQuery) {
            report(path, problem)
            return nil
        }
        return text
    }

    static func httpURLProblem(_ text: String, allowsQuery: Bool) -> String? {
        // A URL with an `@` may carry a password in a form this check cannot parse: never echo it.
        let shown = text.contains("@") ? "a value that is not shown (it contains an @)" : quoted(text)
        if text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "must not contain spaces or control characters, got \(shown)"
        }
        guard let separator = text.firstRange(of: "://") else {
            return "expected an http:// or https:// URL, got \(shown)"
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            return "expected an http:// or https:// URL, got scheme \(quoted(scheme))"
        }
        let rest = text[separator.upperBound...]
        let authorityEnd = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if authority.contains("@") {
            // The value is not echoed: it holds a password.
            return "must not contain a user name or password; send credentials in a header instead"
        }
        guard let (host, port) = splitHostAndPort(authority), !host.isEmpty, isValidHost(host) else {
            return "has no valid host, got \(shown)"
        }
        if let port, parsePort(port) == nil {
            return "has an invalid port (1-65535), got \(shown)"
        }
        if !allowsQuery, rest[authorityEnd...].contains(where: { $0 == "?" || $0 == "#" }) {
            return "must not have a query or fragment, got \(shown)"
        }
        return nil
    }

    /// `host:port` or `[v6]:port` split in two; `port` is `nil` when there is no colon.
    static func splitHostAndPort(_ text: Substring) -> (host: Substring, port: Substring?)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.hasPrefix(":") else { return nil }
            return (host, after.dropFirst())
        }
        guard let colon = text.firstIndex(of: ":") else { return (text, nil) }
        return (text[..<colon], text[text.index(after: colon)...])
    }

    static func isValidHost(_ host: Substring) -> Bool {
        host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._:%".contains($0)) }
    }

    static func parsePort(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(text), (1...65535).contains(port)
        else { return nil }
        return port
    }

    // MARK: Contacts

    /// What to do with a contact listed twice.
    enum DuplicateContacts {
        /// An error naming both indexes: in the config file a repeat is a copy-paste slip.
        case reject
        /// Dropped and counted: an imported list exported from a CRM often repeats people.
        case skip
    }

    /// A JSON array of contact objects, in order; duplicates handled as `duplicates` says.
    func contacts(
        _ value: JSONValue,
        at path: ConfigurationKeyPath,
        duplicates: DuplicateContacts
    ) -> (contacts: [ContactReference], duplicateCount: Int)? {
        guard case .array(let elements) = value else {
            report(
                path,
                "expected an array of contacts such as [{\"unicity\": \"someone@example.com\"}], found \(value.typeName)"
            )
            return nil
        }
        var contacts: [ContactReference] = []
        var firstIndex: [ContactReference: Int] = [:]
        var duplicateCount = 0
        for (index, element) in elements.enumerated() {
            let elementPath = path.appending(index: index)
            guard let contact = contact(element, at: elementPath) else { continue }
            if let first = firstIndex[contact] {
                duplicateCount += 1
                if duplicates == .reject {
                    report(elementPath, "duplicate of \(path.appending(index: first)) (\(contact))")
                }
                continue
            }
            firstIndex[contact] = index
            contacts.append(contact)
        }
        return (contacts, duplicateCount)
    }

    /// `{"id": …}`, `{"unicity": …}` or `{"hash": …}`: exactly one kind, a non-empty string value.
    func contact(_ value: JSONValue, at path: ConfigurationKeyPath) -> ContactReference? {
        let kinds = ContactKind.allCases.map(\.rawValue)
        guard case .object(let members) = value else {
            report(path, "expected an object such as {\"unicity\": \"someone@example.com\"}, found \(value.typeName)")
            return nil
        }
        let unknownKeyMessage = { (_: String) in
            "unknown key; a contact is one of {\"id\": …}, {\"unicity\": …} or {\"hash\": …}"
        }
        guard let fields = fields(of: value, at: path, knownKeys: kinds, unknownKeyMessage: unknownKeyMessage) else {
            return nil
        }
        switch fields.members.count {
        case 0:
            // An unknown key ({"email": …}) has been reported already; "found none" would repeat it.
            if members.isEmpty { report(path, "expected exactly one of id, unicity or hash, found none") }
            return nil
        case 1:
            let member = fields.members[0]
            let memberPath = path.appending(member.key)
            guard let text = nonEmptyString(member.value, at: memberPath) else { return nil }
            guard text.first?.isWhitespace != true, text.last?.isWhitespace != true else {
                report(memberPath, "must not start or end with whitespace, got \(quoted(text))")
                return nil
            }
            return ContactReference(kind: ContactKind(rawValue: member.key)!, value: text)
        default:
            let names = fields.members.map(\.key).joined(separator: " and ")
            report(path, "expected exactly one of id, unicity or hash, found \(names)")
            return nil
        }
    }
}
