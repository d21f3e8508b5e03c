// libFuzzer target: config files and contact lists through the strict loader.
//
// Built by fuzz/build.sh against the package's Config and NP6Model modules. Every input goes to `SyncConfiguration.parse(_:source:baseDirectory:
// environment:)` and to `ContactList.parse(_:source:)`. A thrown `ConfigurationError` is fine; a
// crash or a hang is not, and these must hold:
//
// - An error has at least one issue, each with a path and a message, and its description is
//   the issues one per line.
// - Secrets are never echoed (`ConfigurationIssue`: "A message never contains a secret: neither
//   the API key nor a webhook secret, wherever it was put"; header values: "type errors only,
//   never the value"). Every string under a key the loader takes for a misplaced credential
//   (`APIConfiguration.misplacedKeyMessage`: apiKey, key, X-Key, token, secret…, at any depth)
//   and every header value is prefixed with a canary, the document re-serialized and parsed
//   again: no message may contain the canary. The same strings of the original input (8 bytes
//   or more, found nowhere else in it) must not appear in its messages either. Nor may the
//   fake NP6_API_KEY of the environment.
// - A configuration that loads keeps the loader's promises: values in range, paths absolute and
//   normalized, URLs valid, sink names and outputs unique, contacts unique and trimmed.
// - A contact list that loads has unique, trimmed contacts that round-trip through `KIND:VALUE`.

import NP6Model

@testable import Config

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    ConfigFuzzer(bytes: Array(UnsafeRawBufferPointer(start: start, count: count))).run()
    return 0
}

/// A failed invariant: the message names it, libFuzzer saves the input.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

struct ConfigFuzzer {
    static let environmentKey = "np6-env-K3Y-d41d8cd98f00b204"
    static let environment = [
        APIConfiguration.keyEnvironmentVariable: environmentKey,
        "STATE_DIRECTORY": "/var/lib/np6-sync:/var/lib/other",
        "CREDENTIALS_DIRECTORY": "/run/credentials/np6-sync.service",
    ]
    static let baseDirectory = "/etc/np6-sync/./conf.d/.."
    /// Put before every secret of the re-serialized document; never part of a valid message.
    static let canary = "\u{2063}CANARY-9c2e\u{2063}"

    let bytes: [UInt8]

    func run() {
        let configuration = parseConfiguration(bytes)
        let contacts = parseContacts(bytes, source: "contacts.txt")
        let bareContacts = parseContacts(bytes, source: nil)

        switch configuration {
        case .success(let loaded): checkConfiguration(loaded)
        case .failure(let error): checkShape(error)
        }
        for result in [contacts, bareContacts] {
            switch result {
            case .success(let list): checkContactList(list)
            case .failure(let error): checkShape(error)
            }
        }
        require(
            contacts.map(\.contacts) == bareContacts.map(\.contacts) || (contacts.isFailure && bareContacts.isFailure),
            "the source name changed the outcome of ContactList.parse"
        )
        checkSecrets(configuration: configuration, contacts: contacts)
    }

    private func parseConfiguration(_ input: [UInt8]) -> Result<SyncConfiguration, ConfigurationError> {
        Result { () throws(ConfigurationError) in
            try SyncConfiguration.parse(
                input,
                source: "config.json",
                baseDirectory: Self.baseDirectory,
                environment: Self.environment
            )
        }
    }

    private func parseContacts(_ input: [UInt8], source: String?) -> Result<ContactList, ConfigurationError> {
        Result { () throws(ConfigurationError) in try ContactList.parse(input, source: source) }
    }

    // MARK: - Errors

    private func checkShape(_ error: ConfigurationError) {
        require(!error.issues.isEmpty, "an error without issues")
        for issue in error.issues {
            require(!issue.path.isEmpty && !issue.message.isEmpty, "an issue without path or message: \(issue)")
        }
        require(error.description == error.issues.map(\.description).joined(separator: "\n"), "description")
    }

    // MARK: - Secrets

    private func checkSecrets(
        configuration: Result<SyncConfiguration, ConfigurationError>,
        contacts: Result<ContactList, ConfigurationError>
    ) {
        let messages = [configuration.failureDescription, contacts.failureDescription].compactMap { $0 }
        let inputHas = { (text: String) in Self.contains(self.bytes, Array(text.utf8)) }
        if !inputHas(Self.environmentKey) {
            for message in messages {
                require(
                    !Self.contains(Array(message.utf8), Array(Self.environmentKey.utf8)),
                    "the environment's API key in: \(message)")
            }
        }

        var document = bytes
        if document.starts(with: [0xEF, 0xBB, 0xBF]) { document.removeFirst(3) }
        guard let tree = try? JSONValue.parse(document) else { return }
        require((try? JSONValue.parse(tree.jsonText)) == tree, "jsonText does not round-trip")
        var found = Strings()
        let planted = Self.plant(tree, inSecret: false, membersAreSecret: false, into: &found)
        guard !found.secrets.isEmpty, !inputHas(Self.canary) else { return }

        // With canaries: exact.
        let text = planted.jsonText
        let plantedMessages = [
            parseConfiguration(Array(text.utf8)).failureDescription,
            parseContacts(Array(text.utf8), source: "contacts.txt").failureDescription,
        ].compactMap { $0 }
        for message in plantedMessages {
            require(!Self.contains(Array(message.utf8), Array(Self.canary.utf8)), "a secret is echoed: \(message)")
        }

        // The original values: those long enough to mean something and found nowhere else.
        for secret in found.secrets.prefix(32) where secret.utf8.count >= 8 {
            let needle = Array(secret.utf8)
            guard !found.others.contains(where: { Self.contains(Array($0.utf8), needle) }) else { continue }
            guard !plantedMessages.contains(where: { Self.contains(Array($0.utf8), needle) }) else { continue }
            for message in messages {
                require(
                    !Self.contains(Array(message.utf8), needle), "the secret \(secret.debugDescription) in: \(message)")
            }
        }
    }

    struct Strings {
        /// Strings at a secret's place.
        var secrets: [String] = []
        /// Every other string, key and number literal.
        var others: [String] = []
    }

    /// The document with every secret string prefixed with the canary.
    ///
    /// A secret's place: anything under a key the loader takes for a misplaced API key or webhook
    /// secret, and the values of a `headers` object.
    static func plant(
        _ value: JSONValue,
        inSecret: Bool,
        membersAreSecret: Bool,
        into found: inout Strings
    ) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(
                members.map { member in
                    found.others.append(member.key)
                    let secret = inSecret || membersAreSecret || APIConfiguration.misplacedKeyMessage(member.key) != nil
                    let inner = plant(
                        member.value, inSecret: secret, membersAreSecret: member.key == "headers", into: &found)
                    return JSONMember(key: member.key, value: inner)
                }
            )
        case .array(let elements):
            return .array(elements.map { plant($0, inSecret: inSecret, membersAreSecret: false, into: &found) })
        case .string(let text):
            guard inSecret else {
                found.others.append(text)
                return value
            }
            found.secrets.append(text)
            return .string(canary + text)
        case .number(let literal):
            found.others.append(literal)
            return value
        case .bool, .null:
            return value
        }
    }

    /// Byte-wise substring search (String's `contains` compares characters, so a combining mark
    /// after the needle would hide it).
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count)
        where haystack[start] == needle[0] && haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    // MARK: - A loaded configuration

    private func checkConfiguration(_ configuration: SyncConfiguration) {
        let api = configuration.api
        require(
            ConfigurationDecoder.httpURLProblem(api.baseURL, allowsQuery: false) == nil && !api.baseURL.hasSuffix("/"),
            "api.baseURL \(api.baseURL.debugDescription)"
        )
        let maximum = ConfigurationDecoder.maximumSeconds
        require((1...maximum).contains(api.timeoutSeconds), "api.timeoutSeconds \(api.timeoutSeconds)")
        require((1...10_000).contains(api.requestsPerSecond), "api.requestsPerSecond")
        require((1...1_000).contains(api.maxConcurrentRequests), "api.maxConcurrentRequests")
        api.keyFile.map { checkPath($0, "api.keyFile") }
        checkPath(configuration.database.path, "database.path")
        configuration.contactsFile.map { checkPath($0, "contactsFile") }

        let schedule = configuration.schedule
        require((1...maximum).contains(schedule.intervalSeconds), "schedule.intervalSeconds")
        require((0...schedule.intervalSeconds).contains(schedule.jitterSeconds), "schedule.jitterSeconds")
        require((1...maximum).contains(schedule.notFoundRecheckSeconds), "schedule.notFoundRecheckSeconds")
        let sync = configuration.sync
        require(sync.initialStartMs >= 0, "sync.initialStart \(sync.initialStartMs)")
        require(
            (SyncWindowConfiguration.minimumLookbackSeconds...maximum).contains(sync.lookbackSeconds),
            "sync.lookbackSeconds")
        require((0...maximum).contains(sync.maxWindowSeconds), "sync.maxWindowSeconds")
        _ = Timestamp.iso8601(milliseconds: sync.initialStartMs)

        checkContacts(configuration.contacts)

        var names: Set<String> = []
        var files: Set<JSONLSinkConfiguration.Destination> = []
        for sink in configuration.sinks {
            require(names.insert(sink.name).inserted, "sink name \(sink.name) twice")
            require(
                !sink.name.isEmpty
                    && sink.name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) },
                "sink name \(sink.name.debugDescription)"
            )
            require((1...10_000).contains(sink.batchSize), "sinks.batchSize \(sink.batchSize)")
            switch sink.kind {
            case .jsonl(let jsonl):
                require(files.insert(jsonl.destination).inserted, "two sinks write \(jsonl.destination)")
                if case .file(let path) = jsonl.destination { checkPath(path, "sinks.path") }
            case .webhook(let webhook):
                require(
                    ConfigurationDecoder.httpURLProblem(webhook.url, allowsQuery: true) == nil,
                    "sinks.url \(webhook.url.debugDescription)"
                )
                require((1...maximum).contains(webhook.timeoutSeconds), "sinks.timeoutSeconds")
                webhook.secretFile.map { checkPath($0, "sinks.secretFile") }
                var lowercased: Set<String> = []
                for (name, value) in webhook.headers {
                    require(lowercased.insert(name.lowercased()).inserted, "header \(name) twice")
                    require(!WebhookSinkConfiguration.reservedHeaders.contains(name.lowercased()), "header \(name)")
                    require(
                        !value.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F },
                        "header value")
                }
            case .command(let command):
                require(!command.arguments.isEmpty, "empty argv")
                require(!command.arguments[0].allSatisfy(\.isWhitespace), "blank program")
                require((1...maximum).contains(command.timeoutSeconds), "sinks.timeoutSeconds")
            }
        }
        if let metrics = configuration.metrics {
            require((1...65_535).contains(metrics.port) && !metrics.host.isEmpty, "metrics \(metrics.listen)")
        }
    }

    /// Absolute, and normalized: no empty, `.` or `..` component.
    private func checkPath(_ path: String, _ key: String) {
        require(path.hasPrefix("/"), "\(key) is not absolute: \(path.debugDescription)")
        guard path != "/" else { return }
        let components = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        require(
            !components.contains { $0.isEmpty || $0 == "." || $0 == ".." },
            "\(key) not normalized: \(path.debugDescription)")
    }

    // MARK: - Contacts

    private func checkContactList(_ list: ContactList) {
        require(list.duplicateCount >= 0, "negative duplicateCount")
        checkContacts(list.contacts)
    }

    private func checkContacts(_ contacts: [ContactReference]) {
        require(Set(contacts).count == contacts.count, "a contact listed twice")
        for contact in contacts {
            require(!contact.value.isEmpty, "a contact with an empty value")
            require(
                contact.value.first?.isWhitespace != true && contact.value.last?.isWhitespace != true,
                "an untrimmed contact \(contact.value.debugDescription)"
            )
            require(ContactReference(parsing: contact.description) == contact, "\(contact) does not round-trip")
        }
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }

    var failureDescription: String? {
        guard case .failure(let error) = self else { return nil }
        return String(describing: error)
    }
}
