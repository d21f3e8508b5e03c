import NP6Model

/// Where the database is: the `database` object of the config file. A SQLite file
/// (`database.path`, the default) or a PostgreSQL server (`database.url`); never both.
public struct DatabaseConfiguration: Sendable, Hashable {
    /// The file name used in the default locations.
    public static let defaultFileName = "np6-sync.sqlite"

    /// `database.path`: the SQLite file; absolute when it came from a config file. Unused when
    /// ``url`` is set.
    public var path: String
    /// `database.url`: the PostgreSQL database; `nil` for SQLite.
    public var url: PostgresURL?
    /// `database.passwordFile`: the file holding the PostgreSQL role's password.
    public var passwordFile: String?
    /// `database.leaseSeconds`: how long a contact or sink claimed by an instance stays its own
    /// without a renewal (several daemons on one PostgreSQL database).
    public var leaseSeconds: Int

    public init(path: String, url: PostgresURL? = nil, passwordFile: String? = nil, leaseSeconds: Int = 30) {
        self.path = path
        self.url = url
        self.passwordFile = passwordFile
        self.leaseSeconds = leaseSeconds
    }

    /// What messages and `status` call the database: the SQLite file's path, or the PostgreSQL
    /// URL (which never holds a password).
    public var location: String { url?.description ?? path }

    /// The database used when the config file names none: in the systemd state directory
    /// (`StateDirectory=` sets `STATE_DIRECTORY`, several colon-separated directories when the
    /// unit lists several; the first is used), else in the working directory.
    public static func defaultPath(environment: [String: String]) -> String {
        let first = environment["STATE_DIRECTORY"]?.split(separator: ":").first
        guard let directory = first, !directory.isEmpty else { return "./" + defaultFileName }
        return ConfigurationFiles.resolve(defaultFileName, against: String(directory))
    }
}

/// Finding the PostgreSQL password: never in the config file (nor in `database.url`), always
/// outside it, the same way as the API key.
extension DatabaseConfiguration {
    /// The environment variable that may hold the password.
    public static let passwordEnvironmentVariable = "NP6_DATABASE_PASSWORD"
    /// The systemd credential (`LoadCredential=np6-database-password:/path`) that may hold it.
    public static let passwordCredentialName = "np6-database-password"

    /// The PostgreSQL password, from the first of these that is set: `database.passwordFile`,
    /// `NP6_DATABASE_PASSWORD`, `$CREDENTIALS_DIRECTORY/np6-database-password`; surrounding
    /// whitespace removed. `nil` when none is set: the server may ask for no password (`trust`,
    /// `peer`, a client certificate).
    ///
    /// - Throws: when the chosen source cannot be read, is empty or holds a line break or NUL.
    ///   The password never appears in the error.
    public func resolvePassword(environment: [String: String]) throws(ConfigurationError) -> Secret? {
        let secret = ExternalSecret(
            fileKey: "database.passwordFile", file: passwordFile, variable: Self.passwordEnvironmentVariable,
            credential: Self.passwordCredentialName, holding: "the database password alone")
        guard case .found(let text, let issuePath, let source) = try secret.lookUp(environment: environment) else {
            return nil
        }
        let password = text.trimmingSurroundingWhitespace()
        guard !password.isEmpty else {
            throw ConfigurationError(path: issuePath, message: "\(source) is empty; it must hold the database password")
        }
        guard !password.unicodeScalars.contains(where: { $0 == "\0" || $0 == "\n" || $0 == "\r" }) else {
            throw ConfigurationError(
                path: issuePath, message: "\(source) must hold the database password alone, on one line")
        }
        return Secret(unredactedValue: password)
    }
}

extension DatabaseConfiguration {
    static let keys = ["path", "url", "passwordFile", "leaseSeconds"]

    /// `url` and `passwordFile` may be `null`, meaning unset (as the example file shows them).
    init(decoding fields: ObjectFields?, environment: [String: String], with decoder: ConfigurationDecoder) {
        // Whether `key` is present with a value other than `null`.
        func isSet(_ key: String) -> Bool {
            guard let value = fields?[key] else { return false }
            if case .null = value { return false }
            return true
        }
        let configured = fields.flatMap { decoder.read("path", in: $0, decoder.filePath) }
        let url = fields.flatMap { fields in
            decoder.read("url", in: fields, nullMeansAbsent: true) { value, path -> PostgresURL? in
                guard let text = decoder.nonEmptyString(value, at: path) else { return nil }
                switch PostgresURL.parsed(text, baseDirectory: decoder.baseDirectory) {
                case .success(let url): return url
                case .failure(let problem):
                    decoder.report(path, problem.message)
                    return nil
                }
            }
        }
        if let fields, fields["path"] != nil, isSet("url") {
            decoder.report(
                fields.path.appending("url"),
                "database.path and database.url are both set; keep database.path for SQLite or database.url for "
                    + "PostgreSQL, not both")
        }
        let passwordFile = fields.flatMap {
            decoder.read("passwordFile", in: $0, nullMeansAbsent: true, decoder.filePath)
        }
        let leaseSeconds = fields.flatMap { fields in
            decoder.read("leaseSeconds", in: fields) { decoder.integer($0, at: $1, in: 5...3600) }
        }
        if let fields, isSet("passwordFile"), !isSet("url") {
            decoder.report(
                fields.path.appending("passwordFile"),
                "is for PostgreSQL; set database.url too (a SQLite file has no password)")
        }
        self.init(
            path: configured ?? Self.defaultPath(environment: environment), url: url, passwordFile: passwordFile,
            leaseSeconds: leaseSeconds ?? 30)
    }
}
