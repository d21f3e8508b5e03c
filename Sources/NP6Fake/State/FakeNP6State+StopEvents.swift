extension FakeNP6State {
    /// Decides the answer to a stop-events request, logs it and counts it as in flight for its
    /// contact (``requestConcurrency``) until the plan's `inFlight` ends.
    ///
    /// Checks run in the order a real gateway applies them: key (401), rate limit (429), injected
    /// server errors (5xx), parameters (400), contact (404), then a `200` with the injected body
    /// faults.
    func plan(for request: StopEventsRequest) -> StopEventsPlan {
        advanceLiveEvents()
        var plan = decide(request)
        record(FakeRequest(query: request.loggedQuery, status: plan.status, atMs: wallNowMs()))
        if case .success(let query) = request.query, let index = contactIndex(for: query.contact) {
            plan.inFlight = requestConcurrency.begin(contact: index)
        }
        return plan
    }

    private func decide(_ request: StopEventsRequest) -> StopEventsPlan {
        let knobs = self.knobs
        let now = rateLimitNow()
        func answer(
            _ status: Int,
            _ body: StopEventsPlan.Body,
            rateLimit: RateLimitDecision?
        ) -> StopEventsPlan {
            StopEventsPlan(status: status, body: body, rateLimit: rateLimit, latencyMs: knobs.latencyMs)
        }

        guard request.apiKey == configuration.apiKey else {
            return answer(
                401,
                .error(code: "unauthorized", message: "missing or invalid X-Key header"),
                rateLimit: rateLimiter?.peek(at: now)
            )
        }
        let rateLimit = rateLimiter?.acquire(at: now)
        if let rateLimit, !rateLimit.allowed {
            return answer(
                429,
                .error(code: "too_many_requests", message: "rate limit exceeded, retry later"),
                rateLimit: rateLimit
            )
        }
        if knobRandom.chance(knobs.serverErrorRate) {
            return knobRandom.chance(0.5)
                ? answer(
                    500,
                    .error(code: "internal_error", message: "an unexpected error occurred"),
                    rateLimit: rateLimit
                )
                : answer(
                    503,
                    .error(code: "service_unavailable", message: "the service is temporarily unavailable"),
                    rateLimit: rateLimit
                )
        }
        let query: StopEventsQuery
        switch request.query {
        case .success(let parsed): query = knobs.integerBoundsAsSeconds ? parsed.readingIntegersAsSeconds() : parsed
        case .failure(let error):
            return answer(400, .error(code: "bad_request", message: error.description), rateLimit: rateLimit)
        }
        guard let index = contactIndex(for: query.contact) else {
            return answer(404, .error(code: "not_found", message: "contact not found"), rateLimit: rateLimit)
        }
        if knobRandom.chance(knobs.garbageBodyRate) {
            let garbage = GarbageBody.allCases[Int(knobRandom.next() % UInt64(GarbageBody.allCases.count))]
            return answer(200, .garbage(garbage), rateLimit: rateLimit)
        }
        let records = eventsByContact[index]
        let lower = query.startMs.map { firstIndex(atOrAfter: $0, in: records) } ?? records.startIndex
        let endMs = knobs.endInclusive ? query.endMs.map { $0 == .max ? $0 : $0 + 1 } : query.endMs
        let upper = max(lower, endMs.map { firstIndex(atOrAfter: $0, in: records) } ?? records.endIndex)
        let order: EventStreamPlan.Order =
            switch query.sort {
            case .asc:
                knobRandom.chance(knobs.unsortedBodyRate)
                    ? .shuffled(seed: knobRandom.next())
                    : knobRandom.chance(knobs.backInTimeBodyRate) ? .backInTime : .ascending
            case .desc: .descending
            case nil: .shuffled(seed: knobRandom.next())
            }
        let stream = EventStreamPlan(
            contact: contacts[index],
            records: records[lower..<upper],
            order: order,
            malformedElementRate: knobs.malformedElementRate,
            duplicateElementRate: knobs.duplicateElementRate,
            malformedSeed: knobRandom.next(),
            dropHalfway: knobRandom.chance(knobs.dropConnectionRate),
            holdAfterElements: holding.isOn ? holding.afterElements : nil,
            stallHalfwayMs: knobs.bodyStallMs,
            trickleMs: knobs.bodyTrickleMs,
            pretty: knobRandom.chance(knobs.prettyBodyRate)
        )
        return answer(200, .events(stream), rateLimit: rateLimit)
    }

    /// Every visible event with its contact, for `GET /_fake/events` (a copy-on-write snapshot).
    func snapshot() -> [(contact: FakeContact, records: [EventRecord])] {
        advanceLiveEvents()
        return contacts.indices.map { (contacts[$0], eventsByContact[$0]) }
    }
}
