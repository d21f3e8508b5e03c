/// One stop-events request as the state needs it.
struct StopEventsRequest: Sendable {
    var apiKey: String?
    var query: Result<StopEventsQuery, StopEventsQueryError>
    /// What the request log keeps: the decoded parameters.
    var loggedQuery: [String: String]
}
