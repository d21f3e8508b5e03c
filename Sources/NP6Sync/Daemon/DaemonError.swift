import Logging
import ServiceLifecycle
import SyncStore

/// Why the daemon stopped on its own.
public enum DaemonError: Error, CustomStringConvertible, Sendable {
    /// 401/403: polling on would only repeat the refusal. Exit code 78.
    case unauthorized(status: Int)

    public var description: String {
        switch self {
        case .unauthorized(let status):
            "the API refused the key (HTTP \(status)); check api.keyFile, NP6_API_KEY or the np6-api-key credential"
        }
    }
}
