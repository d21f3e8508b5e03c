import NP6Model

extension SinkConfiguration {
    static let commonKeys = ["name", "type", "batchSize", "from", "deadLetter"]
    static let keysByType: [(type: String, keys: [String])] = [
        ("jsonl", ["path"]),
        ("webhook", ["url", "secretFile", "timeoutSeconds", "headers", "signature"]),
        ("command", ["argv", "timeoutSeconds", "env"]),
    ]

    /// Decodes the `sinks` array, also checking what only the whole list shows: names and output
    /// files used twice.
    static func decodeList(
        _ value: JSONValue,
        at path: ConfigurationKeyPath,
        with decoder: ConfigurationDecoder
    ) -> [SinkConfiguration] {
        guard case .array(let elements) = value else {
            decoder.report(path, "expected an array of sinks, found \(value.typeName)")
            return []
        }
        var sinks: [SinkConfiguration] = []
        var indexByName: [String: Int] = [:]
        var indexByFile: [JSONLSinkConfiguration.Destination: Int] = [:]
        for (index, element) in elements.enumerated() {
            let elementPath = path.appending(index: index)
            guard let sink = SinkConfiguration(decoding: element, at: elementPath, with: decoder) else { continue }
            if let first = indexByName[sink.name] {
                decoder.report(
                    elementPath.appending("name"),
                    "duplicate sink name \(quoted(sink.name)); \(path.appending(index: first).appending("name")) has it too"
                )
            } else {
                indexByName[sink.name] = index
            }
            if case .jsonl(let jsonl) = sink.kind {
                if let first = indexByFile[jsonl.destination] {
                    decoder.report(
                        elementPath.appending("path"),
                        "\(path.appending(index: first)) writes there too; two sinks would interleave their lines"
                    )
                } else {
                    indexByFile[jsonl.destination] = index
                }
            }
            sinks.append(sink)
        }
        return sinks
    }

    /// `nil`, reported, unless name, type and the type's required keys are all valid.
    init?(decoding value: JSONValue, at path: ConfigurationKeyPath, with decoder: ConfigurationDecoder) {
        // The known keys depend on the type; with no usable type, accept every sink key so the
        // only error is the one about the type.
        let typeName: String? =
            if case .object(let members) = value,
                case .string(let text)? = members.first(where: { $0.key == "type" })?.value
            {
                text
            } else {
                nil
            }
        let typeKeys = Self.keysByType.first(where: { $0.type == typeName })?.keys
        let knownKeys = Self.commonKeys + (typeKeys ?? Self.keysByType.flatMap(\.keys))
        let unknownKeyMessage = { (key: String) -> String? in
            if key.lowercased() == "secret" {
                return "a webhook secret is never read from the config file; put it in a file and set secretFile"
            }
            guard let typeName, typeKeys != nil, Self.keysByType.contains(where: { $0.keys.contains(key) }) else {
                return nil
            }
            return "unknown key for a \(typeName) sink"
        }
        guard
            let fields = decoder.fields(of: value, at: path, knownKeys: knownKeys, unknownKeyMessage: unknownKeyMessage)
        else { return nil }

        let name = Self.decodeName(fields, with: decoder)
        let kind = Self.decodeKind(fields, with: decoder)
        let batchSize = decoder.read("batchSize", in: fields) { decoder.integer($0, at: $1, in: 1...10_000) }
        let from: StartPosition? = decoder.read("from", in: fields, decoder.choice)
        let deadLetter = decoder.read("deadLetter", in: fields, decoder.bool)
        guard let name, let kind else { return nil }
        self.init(
            name: name,
            kind: kind,
            batchSize: batchSize ?? 100,
            from: from ?? .beginning,
            deadLetter: deadLetter ?? false
        )
    }

    private static func decodeName(_ fields: ObjectFields, with decoder: ConfigurationDecoder) -> String? {
        guard fields["name"] != nil else {
            decoder.report(fields.path.appending("name"), "required; a unique name such as \"crm\"")
            return nil
        }
        return decoder.read("name", in: fields) { value, path in
            guard let name = decoder.nonEmptyString(value, at: path) else { return nil }
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
                decoder.report(path, "may contain only letters, digits, '.', '_' and '-', got \(quoted(name))")
                return nil
            }
            return name
        }
    }

    private static func decodeKind(_ fields: ObjectFields, with decoder: ConfigurationDecoder) -> Kind? {
        let typePath = fields.path.appending("type")
        let expected = "expected one of \(keysByType.map { "\"\($0.type)\"" }.joined(separator: ", "))"
        guard let type = decoder.read("type", in: fields, decoder.string) else {
            if fields["type"] == nil { decoder.report(typePath, "required; \(expected)") }
            return nil
        }
        switch type {
        case "jsonl":
            return JSONLSinkConfiguration(decoding: fields, with: decoder).map(Kind.jsonl)
        case "webhook":
            return WebhookSinkConfiguration(decoding: fields, with: decoder).map(Kind.webhook)
        case "command":
            return CommandSinkConfiguration(decoding: fields, with: decoder).map(Kind.command)
        default:
            decoder.report(typePath, "unknown sink type \(quoted(type)); \(expected)")
            return nil
        }
    }
}

extension JSONLSinkConfiguration {
    init?(decoding fields: ObjectFields, with decoder: ConfigurationDecoder) {
        guard
            decoder.require(
                "path",
                in: fields,
                example: "\"/var/lib/np6-sync/stop-events.jsonl\" or \"-\" for standard output"
            ),
            let destination = decoder.read(
                "path",
                in: fields,
                { value, path -> Destination? in
                    if case .string("-") = value { return .standardOutput }
                    return decoder.filePath(value, at: path).map(Destination.file)
                }
            )
        else { return nil }
        self.init(destination: destination)
    }
}

extension WebhookSinkConfiguration {
    /// Set by the sink itself: a configured value would break framing or the signature.
    static let reservedHeaders: Set<String> = [
        "host", "content-length", "content-type", "transfer-encoding", "connection",
        "webhook-id", "webhook-timestamp", "webhook-signature",
    ]

    init?(decoding fields: ObjectFields, with decoder: ConfigurationDecoder) {
        let hasURL = decoder.require("url", in: fields, example: "\"https://crm.example.com/hooks/np6-stops\"")
        let url = decoder.read("url", in: fields) { decoder.httpURL($0, at: $1, allowsQuery: true) }
        let secretFile = decoder.read("secretFile", in: fields, nullMeansAbsent: true, decoder.filePath)
        let timeout = decoder.read("timeoutSeconds", in: fields) { decoder.seconds($0, at: $1, minimum: 1) }
        let headers = decoder.read("headers", in: fields, nullMeansAbsent: true) {
            Self.headers($0, at: $1, with: decoder)
        }
        let signature: Signature? = decoder.read("signature", in: fields, decoder.choice)
        if signature != nil, fields["secretFile"] == nil {
            decoder.report(
                fields.path.appending("signature"),
                "requests are signed only with a secret; set secretFile too (a \"whsec_…\" secret for \"standard\")")
        }
        guard hasURL, let url else { return nil }
        self.init(
            url: url, secretFile: secretFile, timeoutSeconds: timeout ?? 10, headers: headers ?? [:],
            signature: signature ?? .np6sync)
    }

    private static func headers(
        _ value: JSONValue,
        at path: ConfigurationKeyPath,
        with decoder: ConfigurationDecoder
    ) -> [String: String]? {
        guard case .object(let members) = value else {
            decoder.report(path, "expected an object of header names to string values, found \(value.typeName)")
            return nil
        }
        let tokenCharacters = "!#$%&'*+-.^_`|~"
        var headers: [String: String] = [:]
        var lowercasedNames: Set<String> = []
        for member in members {
            let memberPath = path.appending(member.key)
            let name = member.key
            guard !name.isEmpty,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || tokenCharacters.contains($0)) })
            else {
                decoder.report(memberPath, "is not a valid header name")
                continue
            }
            guard lowercasedNames.insert(name.lowercased()).inserted else {
                decoder.report(memberPath, "duplicate header (header names are case-insensitive)")
                continue
            }
            guard !reservedHeaders.contains(name.lowercased()) else {
                decoder.report(memberPath, "is set by np6-sync and cannot be configured")
                continue
            }
            // Header values are often credentials: type errors only, never the value.
            guard case .string(let text) = member.value else {
                decoder.report(memberPath, "expected a string, found \(member.value.typeName)")
                continue
            }
            guard !text.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else {
                decoder.report(memberPath, "must not contain line breaks or control characters")
                continue
            }
            headers[name] = text
        }
        return headers
    }
}

extension CommandSinkConfiguration {
    init?(decoding fields: ObjectFields, with decoder: ConfigurationDecoder) {
        let hasArguments = decoder.require(
            "argv",
            in: fields,
            example: "[\"/usr/local/bin/np6-stop-handler\", \"--batch\"]"
        )
        let arguments = decoder.read("argv", in: fields) { value, path -> [String]? in
            guard case .array(let elements) = value else {
                decoder.report(
                    path,
                    "expected an array of strings (the program and its arguments), found \(value.typeName)"
                )
                return nil
            }
            guard !elements.isEmpty else {
                decoder.report(path, "must name at least the program to run")
                return nil
            }
            let strings = elements.enumerated().map { index, element in
                index == 0
                    ? decoder.nonEmptyString(element, at: path.appending(index: index))
                    : decoder.string(element, at: path.appending(index: index))
            }
            return strings.contains(nil) ? nil : strings.compactMap { $0 }
        }
        let timeout = decoder.read("timeoutSeconds", in: fields) { decoder.seconds($0, at: $1, minimum: 1) }
        let environment = decoder.read("env", in: fields, nullMeansAbsent: true) {
            Self.environment($0, at: $1, with: decoder)
        }
        guard hasArguments, let arguments else { return nil }
        self.init(arguments: arguments, timeoutSeconds: timeout ?? 30, environment: environment ?? [:])
    }

    /// The variable np6-sync sets to the sink's name; `env` cannot set it.
    public static let sinkNameVariable = "NP6_SYNC_SINK"

    /// `env`: an object of variable names (`[A-Za-z_][A-Za-z0-9_]*`) to string values. Errors
    /// name the variable, never its value, which may be a credential.
    private static func environment(
        _ value: JSONValue,
        at path: ConfigurationKeyPath,
        with decoder: ConfigurationDecoder
    ) -> [String: String]? {
        guard case .object(let members) = value else {
            decoder.report(path, "expected an object of variable names to string values, found \(value.typeName)")
            return nil
        }
        var environment: [String: String] = [:]
        for member in members {
            let memberPath = path.appending(member.key)
            let name = member.key
            guard let first = name.first, first.isASCII, first.isLetter || first == "_",
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                decoder.report(
                    memberPath, "is not a valid environment variable name (letters, digits and '_', not first a digit)")
                continue
            }
            guard name != sinkNameVariable else {
                decoder.report(memberPath, "is set by np6-sync to the sink's name and cannot be configured")
                continue
            }
            guard environment[name] == nil else {
                decoder.report(memberPath, "duplicate variable")
                continue
            }
            guard case .string(let text) = member.value else {
                decoder.report(memberPath, "expected a string, found \(member.value.typeName)")
                continue
            }
            guard !text.unicodeScalars.contains("\0") else {
                decoder.report(memberPath, "must not contain a NUL character")
                continue
            }
            environment[name] = text
        }
        return environment
    }
}
