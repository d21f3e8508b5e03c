import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NP6Model
import Synchronization

/// The client of `GET /targets/events/responses/stop`.
///
/// It streams a body: array elements are split out as bytes arrive and handed over in batches,
/// so memory is bounded by one element plus one batch whatever the body's size. Redirects are
/// not followed (the key must not travel to another host); TLS certificates are always verified.
public final class NP6Client: Sendable {

    public let configuration: NP6ClientConfiguration
    private let http: HTTPClient
    private let now: @Sendable () -> Int64
    private let currentBaseURL: Mutex<String>

    /// Where requests go: `configuration.baseURL` until ``setBaseURL(_:)``.
    public var baseURL: String { currentBaseURL.withLock { $0 } }

    /// Sends the next requests to another base URL (a reload that changed `api.baseURL`).
    public func setBaseURL(_ baseURL: String) {
        currentBaseURL.withLock { $0 = baseURL }
    }

    /// - Parameter now: the wall clock in ms since the epoch (for `X-RateLimit-Reset` and `Retry-After`).
    public init(configuration: NP6ClientConfiguration, now: @escaping @Sendable () -> Int64) {
        self.configuration = configuration
        self.now = now
        currentBaseURL = Mutex(configuration.baseURL)
        let timeout = TimeAmount.seconds(Int64(configuration.timeoutSeconds))
        http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: min(timeout, .seconds(10)), read: timeout),
                connectionPool: .init(
                    idleTimeout: .seconds(60),
                    concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnections)
            ))
    }

    /// Closes the connections. Call once, when done with the client.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Requests one window of a contact's stop events and hands them to `consume` in batches.
    ///
    /// `consume(batch, isLast)` is called with `isLast == true` exactly once, after the closing
    /// `]`, with the last elements (possibly none): the caller commits that batch together with
    /// the watermark. When the body breaks off, the elements received intact are handed over with
    /// `isLast == false` before the error is thrown.
    ///
    /// `onHead(status, rateLimit)` is called as soon as the response head arrives, before the
    /// body (which can take minutes on a backfill, or break off): the rate-limit headers count
    /// from then on.
    ///
    /// - Throws: `NP6ClientError` for what the API or the network did; whatever `consume` throws, as is.
    @discardableResult
    public func fetchStopEvents(
        _ query: StopEventsQuery,
        onHead: (_ status: Int, _ rateLimit: RateLimitInfo?) async -> Void = { _, _ in },
        consume: (DecodedBatch, _ isLast: Bool) async throws -> Void
    ) async throws -> FetchSummary {
        var request = HTTPClientRequest(url: query.url(baseURL: baseURL))
        request.method = .GET
        request.headers.add(name: "X-Key", value: configuration.apiKey)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: configuration.userAgent)

        let response: HTTPClientResponse
        do {
            // `timeoutSeconds` is an idle read timeout (`timeout.read`): any silence that long,
            // before the response head or inside the body, fails the request. A body that keeps
            // coming is read however long it takes (a first sync can stream for minutes). This
            // deadline bounds only the wait for the response head (AsyncHTTPClient drops it once
            // the head is in), where the read timeout fires first anyway.
            response = try await http.execute(request, timeout: .hours(1))
        } catch {
            throw NP6ClientError.transport(Self.describe(error))
        }

        var summary = FetchSummary()
        let receivedMs = now()
        summary.rateLimit = RateLimitInfo(headers: response.headers, nowMs: receivedMs)
        summary.serverDate = response.headers.first(name: "Date").flatMap(Timestamp.parseHTTPDate).map {
            ServerDate(dateMs: $0, receivedMs: receivedMs)
        }
        await onHead(Int(response.status.code), summary.rateLimit)
        switch response.status.code {
        case 200:
            break
        case 401, 403:
            throw NP6ClientError.unauthorized(status: Int(response.status.code))
        case 404:
            throw NP6ClientError.contactNotFound
        case 429:
            throw NP6ClientError.rateLimited(summary.rateLimit)
        case 500...599:
            throw NP6ClientError.serverError(status: Int(response.status.code))
        default:
            throw NP6ClientError.unexpectedStatus(Int(response.status.code))
        }

        var splitter = JSONArraySplitter(maxElementBytes: configuration.maxElementBytes)
        var split: [SplitElement] = []
        var batch = DecodedBatch()
        batch.serverDate = summary.serverDate
        var body = response.body.makeAsyncIterator()
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await body.next()
            } catch {
                if !batch.isEmpty { try await consume(batch, false) }
                throw NP6ClientError.transport(
                    "the connection broke off after \(summary.bytes) bytes: \(Self.describe(error))")
            }
            guard let chunk else { break }
            summary.bytes += chunk.readableBytes
            do {
                try splitter.append(contentsOf: chunk.readableBytesView, into: &split)
            } catch {
                // Elements split out before the fault are intact; the rest is not trusted.
                decode(&split, into: &batch)
                if !batch.isEmpty { try await consume(batch, false) }
                throw NP6ClientError.malformedBody(error.description)
            }
            summary.elements += split.count
            decode(&split, into: &batch)
            if batch.count >= configuration.batchSize {
                try await consume(batch, false)
                batch = DecodedBatch()
                batch.serverDate = summary.serverDate
            }
        }
        do {
            try splitter.finish()
        } catch {
            if !batch.isEmpty { try await consume(batch, false) }
            throw NP6ClientError.malformedBody(error.description)
        }
        try await consume(batch, true)
        return summary
    }

    private func decode(_ split: inout [SplitElement], into batch: inout DecodedBatch) {
        for element in split {
            switch EventDecoder.decode(element, maxElementBytes: configuration.maxElementBytes) {
            case .event(let event): batch.events.append(event)
            case .malformed(let malformed): batch.malformed.append(malformed)
            }
        }
        split.removeAll(keepingCapacity: true)
    }

    /// An error's text without anything from the request (the URL carries no secret, the
    /// headers do, and AsyncHTTPClient's errors never include headers).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connect timeout"
            case .readTimeout: return "read timeout"
            case .deadlineExceeded: return "deadline exceeded"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}
