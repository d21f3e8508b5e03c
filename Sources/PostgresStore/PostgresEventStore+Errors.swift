import NIOSSL
import PostgresNIO
import SyncStore
import _ConnectionPoolModule

extension PostgresEventStore {
    /// What the engine is told about an error from PostgresNIO, as `SQLiteEventStore.storeError`
    /// does for SQLite: the server's refusals and lost connections become a
    /// ``SyncStoreError/unavailable(code:message:)`` that names the condition, so that the engine
    /// backs off and tries again; an integrity violation (SQLSTATE class 23) is about one write,
    /// not the database, and passes unchanged.
    ///
    /// The codes, by SQLSTATE: `busy` for lock and serialization conflicts, deadlocks and
    /// cancelled statements (`55P03`, `40001`, `40P01`, `57014`); `full` for insufficient
    /// resources (class `53` but `53300`); `ioerr` for system errors and corruption (class `58`,
    /// `XX001`, `XX002`); `readonly` for a read-only transaction or standby (`25006`);
    /// `unreachable` for every lost or refused connection (class `08`, `53300` too many
    /// connections, `57P01`–`57P03` shutdown or start-up, `25P03` a session the server ended
    /// because it sat idle in a transaction, the pool's failed connection attempts);
    /// `other` for anything else.
    static func storeError(_ error: any Error) -> any Error {
        if error is SyncStoreError { return error }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState], state.hasPrefix("23") { return error }
            return SyncStoreError.unavailable(code: code(error), message: describe(error))
        }
        if error is ConnectionPoolError {
            return SyncStoreError.unavailable(
                code: .unreachable, message: "PostgreSQL: no connection to the server (\(error))")
        }
        return error
    }

    /// The error `open` throws for what connecting or migrating threw: a server that cannot be
    /// reached is worth trying again; one that refuses us (authentication, a missing database,
    /// TLS) is not, until an operator changes something.
    static func openingError(_ error: any Error, location: String) -> SyncStoreError {
        guard let error = error as? PSQLError else {
            return .cannotOpen(path: location, reason: "\(error)")
        }
        if let underlying = error.underlying, isTLSError(underlying) {
            return .cannotOpen(
                path: location,
                reason: "TLS: the server's certificate was not accepted (sslmode, sslrootcert): \(underlying)")
        }
        let code = code(error)
        if code == .unreachable {
            return .unavailable(code: .unreachable, message: "\(location): \(describe(error))")
        }
        return .cannotOpen(path: location, reason: describe(error))
    }

    /// A certificate that failed verification, or a TLS handshake that failed.
    private static func isTLSError(_ error: any Error) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
    }

    private static func code(_ error: PSQLError) -> DatabaseErrorCode {
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            switch state {
            case "55P03", "40001", "40P01", "57014": return .busy
            case "53300", "57P01", "57P02", "57P03", "25P03": return .unreachable
            case "25006": return .readonly
            case "XX001", "XX002": return .ioerr
            default: break
            }
            if state.hasPrefix("08") { return .unreachable }
            if state.hasPrefix("53") { return .full }
            if state.hasPrefix("58") { return .ioerr }
            return .other
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return .unreachable
        default:
            return .other
        }
    }

    /// What went wrong, for a message: the server's SQLSTATE and message, or the connection's
    /// problem. Never the query's parameters (an event's payload) nor the password, which the
    /// server never repeats.
    static func describe(_ error: PSQLError) -> String {
        if error.code == .server, let info = error.serverInfo {
            var text = "PostgreSQL error \(info[.sqlState] ?? "?"): \(info[.message] ?? "no message")"
            if let detail = info[.detail] { text += " (\(detail))" }
            return text
        }
        let problem =
            switch error.code {
            case .connectionError: "cannot connect to the server"
            case .serverClosedConnection: "the server closed the connection"
            case .clientClosedConnection, .poolClosed: "the connection was closed"
            case .uncleanShutdown: "the connection was cut"
            case .sslUnsupported: "the server does not offer TLS, which sslmode requires"
            case .failedToAddSSLHandler: "TLS could not be set up"
            case .unsupportedAuthMechanism: "the server asks for an authentication method np6-sync does not support"
            case .authMechanismRequiresPassword:
                "the server asks for a password and none was given (database.passwordFile, NP6_DATABASE_PASSWORD "
                    + "or the credential np6-database-password)"
            case .saslError: "the SCRAM authentication failed"
            case .queryCancelled: "the statement was cancelled"
            default: "\(error.code)"
            }
        guard let underlying = error.underlying else { return "PostgreSQL: \(problem)" }
        return "PostgreSQL: \(problem): \(underlying)"
    }
}
