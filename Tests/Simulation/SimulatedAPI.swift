import NIOHTTP1
import NP6Client
import NP6Model

/// The engine's side of the API seam in the simulator: it asks the ``ModelAPI`` and turns its
/// answer into what `NP6Client` makes of an HTTP response, with the same parts: the status
/// mapping, `RateLimitInfo(headers:)`, `Timestamp.parseHTTPDate`, the `JSONArraySplitter` over
/// the body's chunks and the `EventDecoder`.
///
/// What it does not exercise is `NP6Client`'s HTTP transport (AsyncHTTPClient, TLS, timeouts):
/// the client's own tests and the end-to-end tests cover that against a real server.
struct SimulatedAPI: StopEventsAPI {
    let model: ModelAPI
    let clock: SimulationClock
    let trace: SimulationTrace
    let instance: SimulatedInstance
    var batchSize = 50
    var baseURL: String { "https://np6.simulated/api" }

    @discardableResult
    func fetchStopEvents(
        _ query: StopEventsQuery,
        onHead: (_ status: Int, _ rateLimit: RateLimitInfo?) async -> Void,
        consume: (DecodedBatch, _ isLast: Bool) async throws -> Void
    ) async throws -> FetchSummary {
        // A crashed instance makes no more requests.
        if instance.isCrashed { throw CancellationError() }
        let response = model.respond(to: query)
        clock.advance(by: response.latency)
        let what = "GET \(query.contact) [\(query.startMs), \(query.endMs))"
        if response.transportFailure {
            trace.record("\(what) -> no answer")
            throw NP6ClientError.transport("simulated: connection refused")
        }
        var summary = FetchSummary()
        let receivedMs = clock.wallNowMs
        summary.rateLimit = RateLimitInfo(headers: response.headers, nowMs: receivedMs)
        summary.serverDate = response.headers.first(name: "Date").flatMap(Timestamp.parseHTTPDate).map {
            ServerDate(dateMs: $0, receivedMs: receivedMs)
        }
        let cut = response.deliveredBytes.map { " cut at \($0)/\(response.body.count)" } ?? ""
        trace.record("\(what) -> \(response.status) \(response.body.count) bytes\(cut)")
        await onHead(response.status, summary.rateLimit)
        switch response.status {
        case 200: break
        case 401, 403: throw NP6ClientError.unauthorized(status: response.status)
        case 404: throw NP6ClientError.contactNotFound
        case 429: throw NP6ClientError.rateLimited(summary.rateLimit)
        case 500...599: throw NP6ClientError.serverError(status: response.status)
        default: throw NP6ClientError.unexpectedStatus(response.status)
        }
        var splitter = JSONArraySplitter()
        var split: [SplitElement] = []
        var batch = DecodedBatch()
        batch.serverDate = summary.serverDate
        var offset = 0
        for size in response.chunkSizes {
            let chunk = response.body[offset..<(offset + size)]
            offset += size
            summary.bytes += size
            do {
                try splitter.append(contentsOf: chunk, into: &split)
            } catch {
                decode(&split, into: &batch)
                if !batch.isEmpty { try await consume(batch, false) }
                throw NP6ClientError.malformedBody(error.description)
            }
            summary.elements += split.count
            decode(&split, into: &batch)
            if batch.events.count + batch.malformed.count >= batchSize {
                try await consume(batch, false)
                batch = DecodedBatch()
                batch.serverDate = summary.serverDate
            }
        }
        if response.deliveredBytes != nil, response.breaksWithError {
            if !batch.isEmpty { try await consume(batch, false) }
            throw NP6ClientError.transport("the connection broke off after \(summary.bytes) bytes: simulated")
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
            switch EventDecoder.decode(element) {
            case .event(let event): batch.events.append(event)
            case .malformed(let malformed): batch.malformed.append(malformed)
            }
        }
        split.removeAll(keepingCapacity: true)
    }
}
