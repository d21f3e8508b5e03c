import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NP6Fake

/// A response read whole: enough for every test except the streaming ones.
struct FetchedResponse {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Talks to a running fake over real HTTP, the way the product's client will.
struct FakeAPIClient {
    let handle: FakeNP6Handle
    var apiKey: String? = FakeNP6Configuration().apiKey
    var keyHeaderName = "X-Key"

    /// `GET /targets/events/responses/stop` with these parameters, each value percent-encoded.
    func stopEvents(_ parameters: [(String, String)]) async throws -> FetchedResponse {
        let query = parameters.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        return try await get("/targets/events/responses/stop?\(query)")
    }

    func get(_ pathAndQuery: String, method: HTTPMethod = .GET) async throws -> FetchedResponse {
        let response = try await execute(pathAndQuery, method: method)
        let body = try await response.body.collect(upTo: 256 * 1024 * 1024)
        return FetchedResponse(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
    }

    func execute(_ pathAndQuery: String, method: HTTPMethod = .GET) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: handle.baseURL + pathAndQuery)
        request.method = method
        if let apiKey { request.headers.add(name: keyHeaderName, value: apiKey) }
        return try await HTTPClient.shared.execute(request, timeout: .seconds(60))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (so `+`, `@` and non-ASCII too).
func percentEncode(_ value: String) -> String {
    var encoded = ""
    for byte in value.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            encoded.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF")
            encoded += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
        }
    }
    return encoded
}
