import Hummingbird

extension FakeNP6Server {
    /// Routes for tests and benchmarks that drive the fake from outside the process. No key needed.
    ///
    /// - `GET /_fake/contacts`: `[{"id":…,"unicity":…,"hash":…}, …]`
    /// - `GET /_fake/events`: every visible event, `[{"contact":"<id>","event":{…}}, …]`, streamed
    /// - `POST /_fake/publish?count=N&late=F`: publishes N live events now, a fraction F late;
    ///   answers them in the `/_fake/events` form
    /// - `GET /_fake/stats`: `{"total":N,"byStatus":{"200":…},"maxConcurrentRequestsPerContact":M,
    ///   "contactsRequestedConcurrently":{"count":K,"ids":[…]}}` for the stop-events route: M is
    ///   the most requests for one contact ever in flight at once (from the answer's decision to
    ///   its body's last bytes, see ``ContactConcurrency``), K how many contacts ever had two at
    ///   once, and `ids` the NP6 ids of the first 10 of them
    /// - `GET /_fake/knobs`, `POST /_fake/knobs` with a JSON object of the knobs to change
    func addAdminRoutes(to router: Router<BasicRequestContext>) {
        let admin = router.group("_fake")
        admin.get("contacts") { [state] _, _ -> Response in
            var bytes: [UInt8] = [UInt8(ascii: "[")]
            for (position, contact) in state.contacts.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: #"{"id":"#.utf8)
                EventJSON.appendString(contact.id, to: &bytes)
                bytes.append(contentsOf: #","unicity":"#.utf8)
                EventJSON.appendString(contact.unicity, to: &bytes)
                bytes.append(contentsOf: #","hash":"#.utf8)
                EventJSON.appendString(contact.hash, to: &bytes)
                bytes.append(UInt8(ascii: "}"))
            }
            bytes.append(UInt8(ascii: "]"))
            return Self.json(bytes)
        }
        admin.get("events") { [state] _, _ -> Response in
            let snapshot = await state.snapshot()
            let body = ResponseBody { writer in
                var bytes: [UInt8] = [UInt8(ascii: "[")]
                var written = 0
                for (contact, records) in snapshot {
                    for record in records {
                        if written > 0 { bytes.append(UInt8(ascii: ",")) }
                        Self.appendContactEvent(record, of: contact, to: &bytes)
                        written += 1
                        if written % EventArrayWriter.elementsPerWrite == 0 {
                            try await writer.write(ByteBuffer(bytes: bytes))
                            bytes.removeAll(keepingCapacity: true)
                        }
                    }
                }
                bytes.append(UInt8(ascii: "]"))
                try await writer.write(ByteBuffer(bytes: bytes))
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
        }
        admin.post("publish") { [state] request, _ -> Response in
            let parameters = (try? QueryString.decode(request.uri.query)) ?? []
            let value = { (name: String) in parameters.first { $0.name == name }?.value }
            guard let count = value("count").map(Int.init) ?? 1, count >= 0,
                let late = value("late").map(Double.init) ?? 0, (0...1).contains(late)
            else {
                return Response(
                    status: .badRequest,
                    headers: [.contentType: "application/json"],
                    body: .init(
                        byteBuffer: JSONBodies.error(
                            code: "bad_request",
                            message: "count must be an integer >= 0, late a fraction in 0...1"
                        )
                    )
                )
            }
            let events = await state.publish(count: count, lateFraction: late)
            var bytes: [UInt8] = [UInt8(ascii: "[")]
            for (position, event) in events.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.appendContactEvent(event.record, of: event.contact, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
            return Self.json(bytes)
        }
        admin.get("stats") { [state] _, _ -> Response in
            let counts = await state.statusCounts
            let byStatus = counts.keys.sorted().map { #""\#($0)":\#(counts[$0] ?? 0)"# }.joined(separator: ",")
            let concurrency = state.requestConcurrency.summary
            var bytes = Array(#"{"total":\#(counts.values.reduce(0, +)),"byStatus":{\#(byStatus)},"#.utf8)
            bytes.append(contentsOf: #""maxConcurrentRequestsPerContact":\#(concurrency.maxPerContact),"#.utf8)
            bytes.append(
                contentsOf: #""contactsRequestedConcurrently":{"count":\#(concurrency.overlappedCount),"ids":["#.utf8)
            for (position, index) in concurrency.overlapped.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                EventJSON.appendString(state.contacts[index].id, to: &bytes)
            }
            bytes.append(contentsOf: "]}}".utf8)
            return Self.json(bytes)
        }
        admin.get("knobs") { [state] _, _ -> Response in
            Self.json(knobs: await state.knobs)
        }
        admin.post("knobs") { [state] request, context -> Response in
            let patch = try await request.decode(as: [String: JSONScalar].self, context: context)
            do {
                return Self.json(knobs: try await state.patchKnobs(patch))
            } catch {
                return Response(
                    status: .badRequest,
                    headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: JSONBodies.error(code: "bad_request", message: "\(error)"))
                )
            }
        }
    }

    private static func appendContactEvent(_ record: EventRecord, of contact: FakeContact, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: #"{"contact":"#.utf8)
        EventJSON.appendString(contact.id, to: &bytes)
        bytes.append(contentsOf: #","event":"#.utf8)
        EventJSON.append(record, of: contact, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    private static func json(_ bytes: [UInt8]) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    private static func json(knobs: FakeNP6Knobs) -> Response {
        let rateLimit = knobs.rateLimitPerSecond.map(String.init) ?? "null"
        let fields = [
            #""latencyMs":\#(knobs.latencyMs)"#,
            #""rateLimitPerSecond":\#(rateLimit)"#,
            #""rateLimitKind":"\#(knobs.rateLimitKind.rawValue)""#,
            #""rateLimitBurst":\#(knobs.rateLimitBurst.map(String.init) ?? "null")"#,
            #""serverErrorRate":\#(knobs.serverErrorRate)"#,
            #""malformedElementRate":\#(knobs.malformedElementRate)"#,
            #""garbageBodyRate":\#(knobs.garbageBodyRate)"#,
            #""dropConnectionRate":\#(knobs.dropConnectionRate)"#,
            #""liveEventsPerSecond":\#(knobs.liveEventsPerSecond)"#,
            #""lateFraction":\#(knobs.lateFraction)"#,
            #""lateByMs":\#(knobs.lateByMs)"#,
            #""unsortedBodyRate":\#(knobs.unsortedBodyRate)"#,
            #""duplicateElementRate":\#(knobs.duplicateElementRate)"#,
            #""backInTimeBodyRate":\#(knobs.backInTimeBodyRate)"#,
            #""integerBoundsAsSeconds":\#(knobs.integerBoundsAsSeconds)"#,
            #""endInclusive":\#(knobs.endInclusive)"#,
            #""bodyStallMs":\#(knobs.bodyStallMs)"#,
            #""bodyTrickleMs":\#(knobs.bodyTrickleMs)"#,
        ]
        return json(Array("{\(fields.joined(separator: ","))}".utf8))
    }
}
