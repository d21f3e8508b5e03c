import NP6Model

extension SyncConfiguration {
    static let keys = [
        "api", "database", "sync", "schedule", "contacts", "contactsFile", "sinks", "logging", "metrics",
    ]

    /// Reads and validates a config file.
    ///
    /// Relative paths inside the file are resolved against the file's directory.
    ///
    /// - Parameters:
    ///   - path: the file, e.g. from ``path(option:environment:)``.
    ///   - environment: the process environment; `STATE_DIRECTORY` sets the default database path.
    /// - Throws: every problem found, each naming its key path.
    public static func load(
        path: String,
        environment: [String: String]
    ) throws(ConfigurationError) -> SyncConfiguration {
        let bytes: [UInt8]
        do {
            bytes = try ConfigurationFiles.contents(atPath: path, limit: 16 * 1024 * 1024)
        } catch {
            throw ConfigurationError(path: path, message: "cannot read the config file: \(error.reason)")
        }
        let absolutePath = ConfigurationFiles.resolve(path, against: ConfigurationFiles.currentDirectory())
        return try parse(
            bytes,
            source: path,
            baseDirectory: ConfigurationFiles.directory(of: absolutePath),
            environment: environment
        )
    }

    /// Parses and validates a configuration held in memory, such as a string literal in a test.
    ///
    /// ```swift
    /// let configuration = try SyncConfiguration.parse(#"{"schedule": {"intervalSeconds": 60}}"#, environment: [:])
    /// ```
    ///
    /// - Parameters:
    ///   - source: names the document in syntax errors (`config.json: line 3, column 14: …`).
    ///   - baseDirectory: where relative paths are resolved from; the working directory when `nil`.
    public static func parse(
        _ text: String,
        source: String = "config",
        baseDirectory: String? = nil,
        environment: [String: String]
    ) throws(ConfigurationError) -> SyncConfiguration {
        try parse(Array(text.utf8), source: source, baseDirectory: baseDirectory, environment: environment)
    }

    /// Parses and validates a configuration from raw bytes (UTF-8 JSON, an optional byte-order mark).
    public static func parse(
        _ bytes: some Collection<UInt8>,
        source: String = "config",
        baseDirectory: String? = nil,
        environment: [String: String]
    ) throws(ConfigurationError) -> SyncConfiguration {
        let root: JSONValue
        do {
            root = try JSONValue.parse(
                bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : Array(bytes)
            )
        } catch {
            throw ConfigurationError(
                path: source,
                message: "line \(error.line), column \(error.column): \(error.message)"
            )
        }
        guard case .object = root else {
            throw ConfigurationError(
                path: source,
                message: "expected a JSON object at the top level, found \(root.typeName)"
            )
        }
        let base = baseDirectory.map { ConfigurationFiles.resolve($0, against: ConfigurationFiles.currentDirectory()) }
        let decoder = ConfigurationDecoder(baseDirectory: base ?? ConfigurationFiles.currentDirectory())
        let configuration = SyncConfiguration(decoding: root, environment: environment, with: decoder)
        try decoder.throwIfIssues()
        return configuration
    }

    private init(decoding root: JSONValue, environment: [String: String], with decoder: ConfigurationDecoder) {
        let rootPath = ConfigurationKeyPath()
        let fields =
            decoder.fields(
                of: root,
                at: rootPath,
                knownKeys: Self.keys,
                unknownKeyMessage: APIConfiguration.misplacedKeyMessage
            )
            ?? ObjectFields(path: rootPath, members: [])

        /// The fields of a section object, `nil` when absent (or invalid, reported).
        func section(
            _ key: String,
            _ knownKeys: [String],
            nullMeansAbsent: Bool = false,
            unknownKeyMessage: @escaping (String) -> String? = { _ in nil }
        ) -> ObjectFields? {
            decoder.read(key, in: fields, nullMeansAbsent: nullMeansAbsent) { value, path in
                decoder.fields(of: value, at: path, knownKeys: knownKeys, unknownKeyMessage: unknownKeyMessage)
            }
        }

        // Section by section, so the issues come out grouped the way the file is read.
        let api = section("api", APIConfiguration.keys, unknownKeyMessage: APIConfiguration.misplacedKeyMessage)
            .map { APIConfiguration(decoding: $0, with: decoder) }
        let database = DatabaseConfiguration(
            decoding: section("database", DatabaseConfiguration.keys),
            environment: environment,
            with: decoder
        )
        let sync = section("sync", SyncWindowConfiguration.keys).map {
            SyncWindowConfiguration(decoding: $0, with: decoder)
        }
        let schedule = section("schedule", ScheduleConfiguration.keys).map {
            ScheduleConfiguration(decoding: $0, with: decoder)
        }
        let contacts = decoder.read("contacts", in: fields) { decoder.contacts($0, at: $1, duplicates: .reject) }
        let contactsFile = decoder.read("contactsFile", in: fields, nullMeansAbsent: true, decoder.filePath)
        let sinks = decoder.read("sinks", in: fields) { SinkConfiguration.decodeList($0, at: $1, with: decoder) }
        let logging = section("logging", LoggingConfiguration.keys).map {
            LoggingConfiguration(decoding: $0, with: decoder)
        }
        let metrics = section("metrics", MetricsConfiguration.keys, nullMeansAbsent: true)
            .flatMap { MetricsConfiguration(decoding: $0, with: decoder) }

        self.init(
            api: api ?? APIConfiguration(),
            database: database,
            sync: sync ?? SyncWindowConfiguration(),
            schedule: schedule ?? ScheduleConfiguration(),
            contacts: contacts?.contacts ?? [],
            contactsFile: contactsFile,
            sinks: sinks ?? [],
            logging: logging ?? LoggingConfiguration(),
            metrics: metrics
        )
    }
}
