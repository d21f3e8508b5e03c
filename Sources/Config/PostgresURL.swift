import NP6Model

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
        guard let user = PercentDecoding.decode(userInfo), !user.isEmpty else {
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
        guard let database = PercentDecoding.decode(pathText), !database.isEmpty, !database.contains("/") else {
            return .failure(Problem(message: "must name the database after the host (…/DATABASE), \(example)"))
        }
        var url = PostgresURL(user: user, host: String(host), port: port, database: database)
        let query = afterAuthority[queryStart...].dropFirst()
        for parameter in query.split(separator: "&") where !parameter.isEmpty {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard let value = parts.count == 2 ? PercentDecoding.decode(parts[1]) : nil else {
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
}
