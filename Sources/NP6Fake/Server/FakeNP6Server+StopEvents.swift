import HTTPTypes
import Hummingbird
import Logging

extension FakeNP6Server {
    static let stopEventsPath = "/targets/events/responses/stop"
    static let apiKeyHeader = HTTPField.Name("X-Key")!

    func addStopEventsRoute(to router: Router<BasicRequestContext>) {
        router.get(RouterPath(Self.stopEventsPath)) { [state, logger] request, _ -> Response in
            let stopRequest = Self.stopEventsRequest(from: request)
            let plan = await state.plan(for: stopRequest)
            if let inFlight = plan.inFlight, inFlight.concurrent > 1 {
                // What several daemons sharing the contacts by lease must never do.
                logger.warning(
                    "Fake NP6: requests for one contact in flight at once",
                    metadata: [
                        "requests.in_flight": "\(inFlight.concurrent)", "http.query": "\(request.uri.query ?? "")",
                    ])
            }
            await state.waitBeforeHeadWhileHeld()
            logger.debug(
                "Fake NP6 stop-events request",
                metadata: ["http.status": "\(plan.status)", "http.query": "\(request.uri.query ?? "")"]
            )
            if plan.latencyMs > 0 {
                try await Task.sleep(for: .milliseconds(plan.latencyMs))
            }
            return Self.response(for: plan, waitWhileHeld: { await state.waitWhileHeld() })
        }
    }

    static func stopEventsRequest(from request: Request) -> StopEventsRequest {
        let apiKey = request.headers[apiKeyHeader]
        do {
            let parameters = try QueryString.decode(request.uri.query)
            var logged: [String: String] = [:]
            for (name, value) in parameters where logged[name] == nil {
                logged[name] = value
            }
            return StopEventsRequest(
                apiKey: apiKey,
                query: Result { () throws(StopEventsQueryError) in try StopEventsQuery(parameters: parameters) },
                loggedQuery: logged
            )
        } catch {
            return StopEventsRequest(
                apiKey: apiKey,
                query: .failure(.badEncoding(error.description)),
                loggedQuery: ["": request.uri.query ?? ""]
            )
        }
    }

    /// - Parameter waitWhileHeld: called inside a body held by `holdResponses(afterElements:)`.
    static func response(
        for plan: StopEventsPlan, waitWhileHeld: @escaping @Sendable () async -> Void = {}
    ) -> Response {
        var headers = HTTPFields()
        if let rateLimit = plan.rateLimit {
            headers[HTTPField.Name("X-RateLimit-Limit")!] = "\(rateLimit.limit)"
            headers[HTTPField.Name("X-RateLimit-Remaining")!] = "\(rateLimit.remaining)"
            headers[HTTPField.Name("X-RateLimit-Reset")!] = "\(rateLimit.resetSeconds)"
            if !rateLimit.allowed {
                headers[.retryAfter] = "\(rateLimit.resetSeconds)"
            }
        }
        let status = HTTPResponse.Status(code: plan.status)
        switch plan.body {
        case .error(let code, let message):
            plan.inFlight?.end()
            headers[.contentType] = "application/json"
            return Response(
                status: status,
                headers: headers,
                body: .init(byteBuffer: JSONBodies.error(code: code, message: message))
            )
        case .garbage(let garbage):
            plan.inFlight?.end()
            let (contentType, body) = JSONBodies.garbage(garbage)
            headers[.contentType] = contentType
            return Response(status: status, headers: headers, body: .init(byteBuffer: body))
        case .events(let stream):
            headers[.contentType] = "application/json"
            // In flight for its contact until its last bytes go out (or the write fails): a
            // client that has the whole body may ask again at once, before this task resumes.
            let writer = EventArrayWriter(
                plan: stream, waitWhileHeld: waitWhileHeld, beforeLastBytes: { plan.inFlight?.end() })
            return Response(
                status: status, headers: headers,
                body: ResponseBody { body in
                    defer { plan.inFlight?.end() }
                    try await writer.write(to: &body)
                })
        }
    }
}

/// The small fixed bodies the fake sends.
enum JSONBodies {
    static func error(code: String, message: String) -> ByteBuffer {
        var bytes: [UInt8] = Array(#"{"error":"#.utf8)
        EventJSON.appendString(code, to: &bytes)
        bytes.append(contentsOf: #","message":"#.utf8)
        EventJSON.appendString(message, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return ByteBuffer(bytes: bytes)
    }

    static func garbage(_ garbage: GarbageBody) -> (contentType: String, body: ByteBuffer) {
        switch garbage {
        case .htmlPage:
            return (
                "text/html; charset=utf-8",
                ByteBuffer(
                    string: """
                        <!DOCTYPE html>
                        <html><head><title>Maintenance</title></head>
                        <body><h1>Service en maintenance</h1><p>Merci de réessayer plus tard.</p></body></html>

                        """
                )
            )
        case .jsonObject:
            return (
                "application/json",
                ByteBuffer(string: #"{"status":"ok","data":{"events":[]},"warning":"response wrapped by gateway"}"#)
            )
        }
    }
}
