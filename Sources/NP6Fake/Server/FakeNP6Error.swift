import Logging

/// Errors of ``withFakeNP6API(configuration:logger:isolation:_:)``.
public enum FakeNP6Error: Error, CustomStringConvertible {
    /// The server stopped before it was listening.
    case serverDidNotStart

    public var description: String {
        switch self {
        case .serverDidNotStart: "the fake NP6 API stopped before listening on 127.0.0.1"
        }
    }
}
