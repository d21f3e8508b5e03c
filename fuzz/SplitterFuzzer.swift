// libFuzzer target: a response body through `JSONArraySplitter` and `EventDecoder`.
//
// Built by fuzz/build.sh against the JSON and Model sources of NP6Client (the public API only,
// as the HTTP client uses it). Nothing may crash on any body, and these must hold:
//
// - Chunking does not matter: one chunk, one byte at a time and chunks cut where the input's
//   first bytes say (through all three `append` overloads, empty chunks included) give the same
//   elements, the same error and the same `bytesConsumed`.
// - An error is sticky: later `append`s and `finish()` throw it again and add nothing; its offset
//   points at the byte it names.
// - Memory is bounded: with a small `maxElementBytes`, no `.element` is longer than the limit and
//   an `.oversized` keeps exactly `min(limit, oversizedPrefixBytes)` bytes; otherwise the elements
//   are those of an unlimited splitter.
// - Every `.event` has an id whose stored form has at most `maxIDBytes` and decodes back to the
//   JSON string (`StoredText`), its payload is the element's bytes and re-decodes to the same
//   event; every outcome (event or malformed reason) is the one the decoder's documented rules
//   give on the element's `JSONValue` tree (which refuses lone surrogate escapes: for those, on the
//   tree of the element with each one written as U+FFFD).
// - The splitter agrees with `JSONValue.parse` on the whole body, and `jsonText` round-trips.

import NP6Model

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let body = UnsafeRawBufferPointer(start: start, count: count)
    SplitterFuzzer(body: body).run()
    return 0
}

/// A failed invariant: the message names it, libFuzzer saves the input.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

/// What one way of feeding the body produced.
struct SplitRun: Equatable {
    var elements: [SplitElement] = []
    /// The error an `append` threw, if any.
    var error: JSONArraySplitterError?
    /// The error `finish()` threw, if any.
    var finishError: JSONArraySplitterError?
    var bytesConsumed = 0
    var isComplete = false
}

struct SplitterFuzzer {
    let body: UnsafeRawBufferPointer
    let bytes: [UInt8]

    init(body: UnsafeRawBufferPointer) {
        self.body = body
        self.bytes = Array(body)
    }

    /// The input's byte at `index`, cycling; 0 for an empty input. Parameters come from the first
    /// bytes so that a realistic seed stays a realistic body.
    private func control(_ index: Int) -> Int {
        bytes.isEmpty ? 0 : Int(bytes[index % min(bytes.count, 12)])
    }

    func run() {
        let limit = (control(0) * 31 + control(1) * 7 + bytes.count) % 1500

        // The reference: the whole body as one raw chunk, the default limit (bodies here are far
        // below 1 MiB, so nothing is oversized).
        let reference = splitInOneChunk(maxElementBytes: JSONArraySplitter.defaultMaxElementBytes)
        checkAlone(reference, maxElementBytes: JSONArraySplitter.defaultMaxElementBytes)
        for element in reference.elements {
            guard case .element = element else {
                require(false, "an element below 1 MiB came out oversized")
                return
            }
        }

        let byteByByte = split(maxElementBytes: JSONArraySplitter.defaultMaxElementBytes) { _ in 1 }
        require(byteByByte == reference, "one byte at a time differs from one chunk")

        let limitedWhole = splitInOneChunk(maxElementBytes: limit)
        checkAlone(limitedWhole, maxElementBytes: limit)
        let limitedChunked = split(maxElementBytes: limit) { index in control(2 + index % 6) % 29 }
        require(limitedChunked == limitedWhole, "chunked differs from one chunk (limit \(limit))")
        checkLimited(limitedWhole, against: reference, maxElementBytes: limit)

        for element in reference.elements {
            guard case .element(let raw) = element else { continue }
            checkDecoding(raw)
        }
        checkAgainstTree(reference)
    }

    // MARK: - Feeding

    private func splitInOneChunk(maxElementBytes: Int) -> SplitRun {
        var splitter = JSONArraySplitter(maxElementBytes: maxElementBytes)
        var run = SplitRun()
        do {
            try splitter.append(body, into: &run.elements)
        } catch {
            run.error = error
        }
        return finish(&splitter, run)
    }

    /// Feeds chunks of `chunkSize(i)` bytes (0: an empty chunk, then one byte), cycling through
    /// the three `append` overloads and a non-contiguous collection.
    private func split(maxElementBytes: Int, chunkSize: (Int) -> Int) -> SplitRun {
        var splitter = JSONArraySplitter(maxElementBytes: maxElementBytes)
        var run = SplitRun()
        var batch: [SplitElement] = []
        var offset = 0
        var index = 0
        feeding: while offset < bytes.count {
            var size = chunkSize(index)
            if size == 0 {
                let error = append(ArraySlice(), way: control(8 + index % 4) + index, to: &splitter, into: &batch)
                require(error == nil && batch.isEmpty, "an empty chunk did something")
                size = 1
            }
            let end = min(bytes.count, offset + size)
            let error = append(bytes[offset..<end], way: control(8 + index % 4) + index, to: &splitter, into: &batch)
            run.elements += batch
            batch.removeAll(keepingCapacity: true)
            if let error {
                run.error = error
                break feeding
            }
            offset = end
            index += 1
        }
        return finish(&splitter, run)
    }

    private func append(
        _ chunk: ArraySlice<UInt8>,
        way: Int,
        to splitter: inout JSONArraySplitter,
        into batch: inout [SplitElement]
    ) -> JSONArraySplitterError? {
        do throws(JSONArraySplitterError) {
            switch way % 4 {
            case 0:
                // Not `try` inside the closure: Swift 6.3.1 crashes compiling typed throws through
                // a rethrows closure (see JSONArraySplitter.append(contentsOf:into:)).
                return chunk.withUnsafeBytes { raw -> JSONArraySplitterError? in
                    do throws(JSONArraySplitterError) {
                        try splitter.append(raw, into: &batch)
                        return nil
                    } catch {
                        return error
                    }
                }
            case 1:
                try splitter.append(Array(chunk), into: &batch)
            case 2:
                try splitter.append(contentsOf: chunk, into: &batch)
            default:
                try splitter.append(contentsOf: chunk.lazy.map { $0 }, into: &batch)
            }
            return nil
        } catch {
            return error
        }
    }

    /// Records the final state; after an error, checks that the splitter stays failed.
    private func finish(_ splitter: inout JSONArraySplitter, _ partial: SplitRun) -> SplitRun {
        var run = partial
        run.bytesConsumed = splitter.bytesConsumed
        run.isComplete = splitter.isComplete
        do {
            try splitter.finish()
        } catch {
            run.finishError = error
        }
        if let error = run.error {
            var more: [SplitElement] = []
            var again: JSONArraySplitterError?
            do {
                try splitter.append([UInt8(ascii: "]")], into: &more)
            } catch {
                again = error
            }
            require(again == error && more.isEmpty, "the splitter recovered after \(error)")
            require(splitter.bytesConsumed == run.bytesConsumed, "bytesConsumed moved after an error")
        }
        return run
    }

    // MARK: - One run's own invariants

    private func checkAlone(_ run: SplitRun, maxElementBytes: Int) {
        let whitespace: Set<UInt8> = [0x20, 0x0A, 0x0D, 0x09]
        if let error = run.error {
            require(run.finishError == error, "finish() threw \(String(describing: run.finishError)), not \(error)")
            switch error {
            case .notAnArray(let offset):
                require(offset == run.bytesConsumed && offset < bytes.count, "notAnArray offset \(offset)")
                require(bytes[offset] != UInt8(ascii: "[") && !whitespace.contains(bytes[offset]), "notAnArray byte")
                require(bytes[..<offset].allSatisfy(whitespace.contains), "notAnArray after a non-space")
            case .unexpectedByte(let offset, let byte):
                require(offset == run.bytesConsumed && offset < bytes.count && bytes[offset] == byte, "unexpectedByte")
                require(byte == UInt8(ascii: "}") || run.isComplete, "unexpectedByte \(byte) before the end")
            case .tooDeep(let offset):
                require(offset == run.bytesConsumed && offset < bytes.count, "tooDeep offset \(offset)")
                require(bytes[offset] == UInt8(ascii: "[") || bytes[offset] == UInt8(ascii: "{"), "tooDeep byte")
            case .truncated:
                require(false, "append threw truncated")
            }
            require(!error.description.isEmpty, "empty error description")
        } else {
            require(run.bytesConsumed == bytes.count, "bytesConsumed \(run.bytesConsumed) of \(bytes.count)")
            if run.isComplete {
                require(run.finishError == nil, "finish() threw after the closing bracket")
            } else {
                require(run.finishError == .truncated(bytesConsumed: bytes.count), "finish() on a truncated body")
            }
        }
        let keep = min(JSONArraySplitter.oversizedPrefixBytes, maxElementBytes)
        for element in run.elements {
            switch element {
            case .element(let raw):
                require(raw.count <= maxElementBytes, "a \(raw.count)-byte element buffered, limit \(maxElementBytes)")
                require(raw.first.map { !whitespace.contains($0) } ?? true, "element not trimmed at the start")
                require(raw.last.map { !whitespace.contains($0) } ?? true, "element not trimmed at the end")
            case .oversized(let prefix, let totalBytes):
                require(totalBytes > maxElementBytes, "oversized \(totalBytes) within the limit \(maxElementBytes)")
                require(prefix.count == keep, "oversized prefix of \(prefix.count) bytes, expected \(keep)")
                let decoded = EventDecoder.decode(element, maxElementBytes: maxElementBytes)
                guard case .malformed(let bad) = decoded else {
                    require(false, "an oversized element decoded as an event")
                    return
                }
                require(bad.raw == prefix, "oversized element's raw is not its prefix")
                require(bad.reason.contains("\(totalBytes)") && bad.reason.contains("\(maxElementBytes)"), bad.reason)
            }
        }
    }

    /// A limited run cuts the same elements as an unlimited one, keeping only prefixes of the big ones.
    private func checkLimited(_ limited: SplitRun, against reference: SplitRun, maxElementBytes: Int) {
        require(limited.error == reference.error, "the limit changed the error")
        require(limited.finishError == reference.finishError, "the limit changed finish()")
        require(limited.bytesConsumed == reference.bytesConsumed, "the limit changed bytesConsumed")
        require(limited.elements.count == reference.elements.count, "the limit changed the element count")
        for (small, full) in zip(limited.elements, reference.elements) {
            guard case .element(let whole) = full else { continue }
            switch small {
            case .element(let raw):
                require(raw == whole, "the limit changed an element")
            case .oversized(let prefix, let totalBytes):
                require(totalBytes >= whole.count, "oversized total \(totalBytes) below \(whole.count)")
                let shared = min(prefix.count, whole.count)
                require(prefix[..<shared] == whole[..<shared], "oversized prefix is not the element's start")
                require(
                    prefix[shared...].allSatisfy { [0x20, 0x0A, 0x0D, 0x09].contains($0) },
                    "oversized prefix continues past the element with non-whitespace"
                )
            }
        }
    }

    // MARK: - Decoding

    private func checkDecoding(_ raw: [UInt8]) {
        let decoded = EventDecoder.decode(raw)
        require(EventDecoder.decode(.element(raw)) == decoded, "decode(.element) differs from decode(bytes)")
        let tree = try? JSONValue.parse(raw)
        if let tree {
            require((try? JSONValue.parse(tree.jsonText)) == tree, "jsonText does not round-trip")
        }
        if tree == nil, let replaced = Self.replacingLoneSurrogateEscapes(raw),
            let lenient = try? JSONValue.parse(replaced)
        {
            checkDecodingWithLoneSurrogates(
                raw, decoded: decoded, replacedOutcome: Self.expectedOutcome(raw, tree: lenient))
            return
        }
        let expected = Self.expectedOutcome(raw, tree: tree)
        switch decoded {
        case .event(let event):
            require(!event.id.utf8.contains(0), "event id holds U+0000")
            require(event.id.utf8.count <= EventDecoder.maxIDBytes, "event id over \(EventDecoder.maxIDBytes) bytes")
            require(
                StoredText.wtf8(ofForm: event.id).map { StoredText.form(ofWTF8: $0) } == event.id,
                "the id's stored form does not decode back to it")
            require(event.payload == raw, "payload differs from the element's bytes")
            require(EventDecoder.decode(event.payload) == decoded, "payload does not re-decode to the same event")
            require(expected == .event(event), "decoded \(event) where the rules give \(expected)")
        case .malformed(let bad):
            require(bad.raw == raw, "malformed element's raw differs from its bytes")
            require(!bad.reason.isEmpty, "empty reason")
            switch expected {
            case .invalidJSON:
                require(bad.reason.hasPrefix("invalid JSON at byte ") || bad.reason == "empty element", bad.reason)
            case .malformed(let reason):
                require(bad.reason == reason, "reason \"\(bad.reason)\" where the rules give \"\(reason)\"")
            case .event(let event):
                require(false, "malformed (\(bad.reason)) where the rules give \(event)")
            }
        }
    }

    /// An element valid but for lone surrogate escapes, which `JSONValue` refuses and events keep:
    /// it decodes as the element with each written as U+FFFD would, its strings keeping the surrogates.
    private func checkDecodingWithLoneSurrogates(_ raw: [UInt8], decoded: ArrayElement, replacedOutcome: Expected) {
        switch (decoded, replacedOutcome) {
        case (.event(let event), .event(let replaced)):
            require(event.payload == raw, "payload differs from the element's bytes")
            require(event.id.utf8.count <= EventDecoder.maxIDBytes, "event id over \(EventDecoder.maxIDBytes) bytes")
            require(event.timestampMs == replaced.timestampMs, "timestamp differs")
            let pairs: [(String?, String?)] = [
                (event.id, replaced.id), (event.type, replaced.type), (event.identityType, replaced.identityType),
                (event.sourceType, replaced.sourceType),
            ]
            for (kept, written) in pairs {
                let keptBytes = kept.flatMap { StoredText.wtf8(ofForm: $0) }.map(Self.replacingSurrogates)
                require(
                    keptBytes == written.flatMap { StoredText.wtf8(ofForm: $0) },
                    "\(kept ?? "nil") vs \(written ?? "nil")")
            }
        case (.malformed(let bad), .malformed(let reason)):
            require(bad.reason == reason, "reason \"\(bad.reason)\" where the rules give \"\(reason)\"")
        case (.malformed(let bad), .event):
            // A surrogate's escape is longer in the stored form than U+FFFD.
            require(bad.reason == "id is longer than \(EventDecoder.maxIDBytes) bytes", bad.reason)
        default:
            require(false, "decoded \(decoded) where the rules give \(replacedOutcome) with U+FFFD")
        }
    }

    /// `raw` with every lone surrogate escape inside a string written `\ufffd`; nil when it has none.
    static func replacingLoneSurrogateEscapes(_ raw: [UInt8]) -> [UInt8]? {
        func unit(at index: Int) -> UInt32? {
            guard index + 6 <= raw.count, raw[index] == UInt8(ascii: "\\"), raw[index + 1] == UInt8(ascii: "u") else {
                return nil
            }
            return UInt32(String(decoding: raw[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16)
        }
        var output: [UInt8] = []
        var replaced = false
        var inString = false
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            if !inString {
                inString = byte == UInt8(ascii: "\"")
                output.append(byte)
                index += 1
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = false }
            guard byte == UInt8(ascii: "\\"), index + 1 < raw.count else {
                output.append(byte)
                index += 1
                continue
            }
            if let high = unit(at: index), (0xD800...0xDFFF).contains(high) {
                if high < 0xDC00, let low = unit(at: index + 6), (0xDC00...0xDFFF).contains(low) {
                    output += raw[index..<(index + 12)]
                    index += 12
                } else {
                    output += Array(#"\ufffd"#.utf8)
                    replaced = true
                    index += 6
                }
                continue
            }
            output += raw[index..<(index + 2)]
            index += 2
        }
        return replaced ? output : nil
    }

    /// WTF-8 with each surrogate's three bytes written as U+FFFD's.
    static func replacingSurrogates(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0xED, index + 2 < bytes.count, bytes[index + 1] >= 0xA0 {
                output += [0xEF, 0xBF, 0xBD]
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }

    enum Expected: Equatable {
        case invalidJSON
        case malformed(String)
        case event(StopEvent)
    }

    /// EventDecoder's documented rules, applied to the element's tree.
    static func expectedOutcome(_ raw: [UInt8], tree: JSONValue?) -> Expected {
        guard let tree else { return .invalidJSON }
        guard case .object(let members) = tree else { return .malformed("not a JSON object") }
        let ids = members.filter { $0.key == "id" }
        let timestamps = members.filter { $0.key == "timestamp" }
        if ids.count > 1 { return .malformed("duplicate key \"id\"") }
        if timestamps.count > 1 { return .malformed("duplicate key \"timestamp\"") }
        guard let idMember = ids.first else { return .malformed("missing id") }
        guard case .string(let decodedID) = idMember.value else { return .malformed("id is not a string") }
        let id = StoredText.form(ofWTF8: Array(decodedID.utf8))
        if id.utf8.count > EventDecoder.maxIDBytes {
            return .malformed("id is longer than \(EventDecoder.maxIDBytes) bytes")
        }
        guard let timestampMember = timestamps.first else { return .malformed("missing timestamp") }
        guard case .number(let literal) = timestampMember.value, !literal.contains(where: { ".eE".contains($0) })
        else { return .malformed("timestamp is not an integer") }
        guard let timestamp = timestampMember.value.int64Value else {
            return .malformed("timestamp is out of the int64 range")
        }
        func typeString(_ members: [JSONMember]) -> String? {
            members.last(where: { $0.key == "type" })?.value.stringValue.map { StoredText.form(ofWTF8: Array($0.utf8)) }
        }
        func nestedType(_ key: String) -> String? {
            guard case .object(let inner)? = members.last(where: { $0.key == key })?.value else { return nil }
            return typeString(inner)
        }
        return .event(
            StopEvent(
                id: id,
                timestampMs: timestamp,
                type: typeString(members),
                identityType: nestedType("identity"),
                sourceType: nestedType("source"),
                payload: raw
            )
        )
    }

    // MARK: - The whole body

    /// The splitter and `JSONValue.parse` agree: a body is a valid JSON array exactly when the
    /// splitter completes and each element is a valid JSON value, and the elements are the same.
    private func checkAgainstTree(_ reference: SplitRun) {
        let tree = try? JSONValue.parse(bytes)
        if let tree {
            require((try? JSONValue.parse(tree.jsonText)) == tree, "jsonText does not round-trip the body")
        }
        if case .array(let values)? = tree {
            require(reference.error == nil && reference.finishError == nil, "a valid array failed to split")
            require(
                reference.elements.count == values.count, "\(reference.elements.count) elements, not \(values.count)")
            for (element, value) in zip(reference.elements, values) {
                guard case .element(let raw) = element else { continue }
                require((try? JSONValue.parse(raw)) == value, "an element differs from the array's value")
            }
            return
        }
        guard reference.error == nil, reference.finishError == nil else { return }
        var maxDepth = 0
        for element in reference.elements {
            guard case .element(let raw) = element, let value = try? JSONValue.parse(raw) else { return }
            maxDepth = max(maxDepth, Self.depth(of: value))
        }
        // An element nested exactly JSONValue.maxDepth deep is fine alone, too deep inside the array.
        guard maxDepth < JSONValue.maxDepth else { return }
        require(false, "every element is valid JSON but the body does not parse as an array")
    }

    static func depth(of root: JSONValue) -> Int {
        var deepest = 0
        var work: [(JSONValue, Int)] = [(root, 0)]
        while let (value, level) = work.popLast() {
            switch value {
            case .array(let elements):
                deepest = max(deepest, level + 1)
                work += elements.map { ($0, level + 1) }
            case .object(let members):
                deepest = max(deepest, level + 1)
                work += members.map { ($0.value, level + 1) }
            default:
                break
            }
        }
        return deepest
    }
}
