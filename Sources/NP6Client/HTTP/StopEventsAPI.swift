/// Where the engine fetches a contact's stop events from: the one seam between the sync engine
/// and the NP6 API.
///
/// `NP6Client` implements it over HTTP. The deterministic simulator (`Tests/Simulation`)
/// implements it with a model of the API in the same process, so that the real engine
/// (`ContactPoller`, `SyncPass`, `APIChecker`) runs against a world drawn from a seed.
public protocol StopEventsAPI: Sendable {
    /// Where requests go (named in messages about a wrong `api.baseURL`).
    var baseURL: String { get }

    /// Requests one window of a contact's stop events and hands them to `consume` in batches.
    ///
    /// The contract ``NP6Client/fetchStopEvents(_:onHead:consume:)`` documents: `onHead` as
    /// soon as the response head arrives; `consume(batch, isLast)` with `isLast == true` exactly
    /// once, after the closing `]`; the elements received intact before a fault are handed over
    /// with `isLast == false` before the error is thrown.
    ///
    /// - Throws: `NP6ClientError` for what the API or the network did; whatever `consume` throws, as is.
    @discardableResult
    func fetchStopEvents(
        _ query: StopEventsQuery,
        onHead: (_ status: Int, _ rateLimit: RateLimitInfo?) async -> Void,
        consume: (DecodedBatch, _ isLast: Bool) async throws -> Void
    ) async throws -> FetchSummary
}

extension NP6Client: StopEventsAPI {}
