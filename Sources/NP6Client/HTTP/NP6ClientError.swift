import NP6Model

/// Why a request for a contact's stop events did not deliver a complete body.
///
/// Messages name the contact's failure, never the API key.
public enum NP6ClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 401 or 403: the key was refused. Nothing more should be polled.
    case unauthorized(status: Int)
    /// 404: the API does not know the contact.
    case contactNotFound
    /// 429: rate limited; `info` carries the pause the API asked for, if any.
    case rateLimited(RateLimitInfo?)
    /// 5xx.
    case serverError(status: Int)
    /// A status the API does not document (e.g. 400, 3xx: redirects are not followed).
    case unexpectedStatus(Int)
    /// A 200 whose body is not a complete JSON array.
    case malformedBody(String)
    /// No complete answer: connection refused or dropped, timeout, TLS failure.
    case transport(String)

    public var description: String {
        switch self {
        case .unauthorized(let status): "HTTP \(status): the API key was refused"
        case .contactNotFound: "HTTP 404: the API does not know this contact"
        case .rateLimited: "HTTP 429: rate limited"
        case .serverError(let status): "HTTP \(status): server error"
        case .unexpectedStatus(let status): "HTTP \(status): unexpected status"
        case .malformedBody(let reason): "malformed body: \(reason)"
        case .transport(let reason): "request failed: \(reason)"
        }
    }

    /// The HTTP status behind the error, if there was one.
    public var httpStatus: Int? {
        switch self {
        case .unauthorized(let status), .serverError(let status), .unexpectedStatus(let status): status
        case .contactNotFound: 404
        case .rateLimited: 429
        case .malformedBody: 200
        case .transport: nil
        }
    }
}
