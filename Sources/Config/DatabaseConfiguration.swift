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

/// `database.url`: `postgresql://USER@HOST:PORT/DATABASE?sslmode=…`, without a password.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    /// `sslrootcert`: CA certificates (PEM) to verify the server with instead of the system's.
    public var rootCertificatePath: String?

    /// `sslmode`: whether TLS is used. Unlike libpq's `prefer` and `require`, np6-sync verifies
    /// the server's certificate whenever TLS is used.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Plain text.
        case disable
        /// TLS when the server offers it (its certificate and host name verified), else plain text.
        case prefer
        /// TLS, the certificate and host name verified (as `verify-full`).
        case require
        /// TLS, the certificate chain verified, not the host name.
        case verifyCA = "verify-ca"
        /// TLS, the certificate chain and the host name verified.
        case verifyFull = "verify-full"
    }

    public init(
        user: String, host: String, port: Int = 5432, database: String, sslMode: SSLMode = .prefer,
        rootCertificatePath: String? = nil
    ) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
        self.rootCertificatePath = rootCertificatePath
    }

    /// The URL without its query: `postgresql://USER@HOST:PORT/DATABASE`.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(user)@\(shownHost):\(port)/\(database)"
    }

    /// Whether `text` is meant as a PostgreSQL URL rather than a file path (for `--database`).
    public static func looksLikeURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Parses a URL; throws naming the problem (`issuePath` is the key or option it came from).
    /// The value is never echoed: it may hold a password.
    public static func parse(
        _ text: String, issuePath: String, baseDirectory: String? = nil
    ) throws(ConfigurationError) -> PostgresURL {
        switch parsed(text, baseDirectory: baseDirectory ?? ConfigurationFiles.currentDirectory()) {
        case .success(let url): return url
        case .failure(let problem): throw ConfigurationError(path: issuePath, message: problem.message)
        }
    }

    struct Problem: Error {
        var message: String
    }

    static func parsed(_ text: String, baseDirectory: String) -> Result<PostgresURL, Problem> {
        let example = "e.g. postgresql://np6sync@db.example.com:5432/np6sync?sslmode=verify-full"
        guard let separator = text.firstRange(of: "://"),
            ["postgresql", "postgres"].contains(text[..<separator.lowerBound].lowercased())
        else {
            return .failure(Problem(message: "expected a postgresql:// URL, \(example)"))
        }
        if text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return .failure(Problem(message: "must not contain spaces or control characters"))
        }
        let rest = text[separator.upperBound...]
        let authorityEnd = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else {
            return .failure(
                Problem(message: "must name the role before the host (postgresql://USER@HOST…), \(example)"))
        }
        let userInfo = authority[..<at]
        if userInfo.contains(":") {
            return .failure(
                Problem(
                    message: "must not contain a password: a password is never read from the config file; put it "
                        + "in a file and set database.passwordFile, or use the NP6_DATABASE_PASSWORD environment "
                        + "variable or the systemd credential np6-database-password"))
        }
        guard let user = percentDecoded(userInfo), !user.isEmpty else {
            return .failure(Problem(message: "has no valid role name before the @"))
        }
        let hostAndPort = authority[authority.index(after: at)...]
        guard let (host, portText) = ConfigurationDecoder.splitHostAndPort(hostAndPort), !host.isEmpty,
            ConfigurationDecoder.isValidHost(host)
        else {
            return .failure(Problem(message: "has no valid host, \(example)"))
        }
        var port = 5432
        if let portText {
            guard let parsed = ConfigurationDecoder.parsePort(portText) else {
                return .failure(Problem(message: "has an invalid port (1-65535)"))
            }
            port = parsed
        }
        var afterAuthority = rest[authorityEnd...]
        if let hash = afterAuthority.firstIndex(of: "#") { afterAuthority = afterAuthority[..<hash] }
        let queryStart = afterAuthority.firstIndex(of: "?") ?? afterAuthority.endIndex
        let pathText = afterAuthority[..<queryStart].drop { $0 == "/" }
        guard let database = percentDecoded(pathText), !database.isEmpty, !database.contains("/") else {
            return .failure(Problem(message: "must name the database after the host (…/DATABASE), \(example)"))
        }
        var url = PostgresURL(user: user, host: String(host), port: port, database: database)
        let query = afterAuthority[queryStart...].dropFirst()
        for parameter in query.split(separator: "&") where !parameter.isEmpty {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard let value = parts.count == 2 ? percentDecoded(parts[1]) : nil else {
                return .failure(Problem(message: "parameter \(quoted(name)) has no valid value"))
            }
            switch name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    let names = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    return .failure(Problem(message: "unknown sslmode \(quoted(value)); expected one of \(names)"))
                }
                url.sslMode = mode
            case "sslrootcert":
                guard !value.isEmpty else { return .failure(Problem(message: "sslrootcert must name a file")) }
                url.rootCertificatePath = ConfigurationFiles.resolve(value, against: baseDirectory)
            case "password":
                return .failure(
                    Problem(
                        message: "must not contain a password: put it in a file and set database.passwordFile, "
                            + "or use NP6_DATABASE_PASSWORD or the systemd credential np6-database-password"))
            default:
                return .failure(
                    Problem(message: "unknown parameter \(quoted(name)); np6-sync reads sslmode and sslrootcert"))
            }
        }
        return .success(url)
    }

    /// `%XX` escapes decoded; `nil` for a bad escape or bytes that are not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
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

extension DatabaseConfiguration {
    static let keys = ["path", "url", "passwordFile", "leaseSeconds"]

    init(decoding fields: ObjectFields?, environment: [String: String], with decoder: ConfigurationDecoder) {
        let configured = fields.flatMap { decoder.read("path", in: $0, decoder.filePath) }
        let url = fields.flatMap { fields in
            decoder.read("url", in: fields) { value, path -> PostgresURL? in
                guard let text = decoder.nonEmptyString(value, at: path) else { return nil }
                switch PostgresURL.parsed(text, baseDirectory: decoder.baseDirectory) {
                case .success(let url): return url
                case .failure(let problem):
                    decoder.report(path, problem.message)
                    return nil
                }
            }
        }
        if let fields, fields["path"] != nil, fields["url"] != nil {
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
        if let fields, fields["passwordFile"] != nil, fields["url"] == nil {
            decoder.report(
                fields.path.appending("passwordFile"),
                "is for PostgreSQL; set database.url too (a SQLite file has no password)")
        }
        self.init(
            path: configured ?? Self.defaultPath(environment: environment), url: url, passwordFile: passwordFile,
            leaseSeconds: leaseSeconds ?? 30)
    }
}
