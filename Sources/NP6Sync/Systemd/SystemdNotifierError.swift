#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a message did not reach systemd. Never fatal: the caller logs it and goes on.
public enum SystemdNotifierError: Error, CustomStringConvertible, Equatable {
    /// No datagram socket could be created (`socket(2)` failed).
    case socket(errno: Int32)
    /// The address does not fit in `sockaddr_un`.
    case addressTooLong(SystemdNotifier.Address)
    /// `sendto(2)` failed, e.g. nobody listens there (`ECONNREFUSED`, `ENOENT`).
    case send(address: SystemdNotifier.Address, errno: Int32)
    /// Only part of the message was sent.
    case truncated(address: SystemdNotifier.Address)

    public var description: String {
        switch self {
        case .socket(let code):
            "cannot create a unix datagram socket for NOTIFY_SOCKET: \(Self.text(code))"
        case .addressTooLong(let address):
            "NOTIFY_SOCKET \(Self.text(address)) is longer than a unix socket address allows"
        case .send(let address, let code):
            "cannot notify systemd on \(Self.text(address)): \(Self.text(code))"
        case .truncated(let address):
            "systemd on \(Self.text(address)) received only part of a notification"
        }
    }

    private static func text(_ code: Int32) -> String {
        String(cString: strerror(code)) + " (errno \(code))"
    }

    private static func text(_ address: SystemdNotifier.Address) -> String {
        switch address {
        case .path(let path): path
        case .abstract(let name): "@" + name
        }
    }
}
