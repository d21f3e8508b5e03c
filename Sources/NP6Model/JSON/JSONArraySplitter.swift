/// Splits a top-level JSON array into its elements' bytes, fed chunk by chunk as a body streams in.
///
/// It only finds element boundaries (top-level `,` and the closing `]`), tracking strings with
/// their escapes and the nesting of brackets; judging an element's content is `EventDecoder`'s
/// job, so `[1, garbage, {"id":}]` yields three elements. Memory stays at one element in
/// progress, never the whole body.
///
/// ```swift
/// var splitter = JSONArraySplitter()
/// var elements: [SplitElement] = []
/// for try await chunk in body {
///     try splitter.append(chunk, into: &elements)
///     for element in elements { handle(EventDecoder.decode(element)) }
///     elements.removeAll(keepingCapacity: true)
/// }
/// try splitter.finish()
/// ```
///
/// After it throws, the splitter keeps throwing the same error.
public struct JSONArraySplitter: Sendable {
    /// The default for `maxElementBytes`: 1 MiB.
    public static let defaultMaxElementBytes = 1 << 20
    /// How many leading bytes of an oversized element are kept, for the quarantine.
    public static let oversizedPrefixBytes = 4096

    /// Elements longer than this come out as `.oversized`.
    public let maxElementBytes: Int
    /// The deepest bracket nesting allowed inside one element (the element's own brackets count,
    /// the enclosing array does not).
    public let maxDepth: Int

    private enum Phase: UInt8 {
        case beforeArray, afterOpen, inElement, complete
    }

    private var phase = Phase.beforeArray
    /// In `.inElement`: a non-whitespace byte of the element has been seen.
    private var started = false
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// The element in progress; for an oversized one, its prefix only.
    private var buffer: [UInt8] = []
    private var isOversized = false
    private var oversizedTotal = 0
    private var failure: JSONArraySplitterError?
    /// Bytes fed so far (up to the failing byte after an error).
    public private(set) var bytesConsumed = 0

    /// - Parameters:
    ///   - maxElementBytes: elements longer than this are reported as `.oversized` rather than buffered.
    ///   - maxDepth: deeper bracket nesting inside an element throws `.tooDeep`.
    public init(maxElementBytes: Int = 1 << 20, maxDepth: Int = 512) {
        self.maxElementBytes = max(0, maxElementBytes)
        self.maxDepth = max(1, maxDepth)
    }

    /// The closing `]` has been seen.
    public var isComplete: Bool { phase == .complete }

    /// Appends to `elements` every element completed by this chunk.
    ///
    /// Elements completed before an error in the same chunk are appended before it throws.
    /// - Throws: `.notAnArray`, `.unexpectedByte` or `.tooDeep`; the body cannot be trusted.
    public mutating func append(
        _ chunk: UnsafeRawBufferPointer,
        into elements: inout [SplitElement]
    ) throws(JSONArraySplitterError) {
        if let failure { throw failure }
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
        let bytes = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: chunk.count)
        if let error = scan(bytes, into: &elements) {
            failure = error
            throw error
        }
    }

    /// Appends to `elements` every element completed by this chunk.
    /// - Throws: as `append(_:into:)` with a raw buffer.
    public mutating func append(_ chunk: [UInt8], into elements: inout [SplitElement]) throws(JSONArraySplitterError) {
        if let failure { throw failure }
        let error = chunk.withUnsafeBufferPointer { bytes in scan(bytes, into: &elements) }
        if let error {
            failure = error
            throw error
        }
    }

    /// Appends to `elements` every element completed by this chunk, given as any collection of
    /// bytes; a contiguous one (an array slice, NIO's `ByteBufferView`) is read in place.
    ///
    /// Prefer this to wrapping `append` in a `throws(JSONArraySplitterError)` closure passed to a
    /// `rethrows` API such as `withUnsafeReadableBytes`: Swift 6.3.1 crashes compiling that.
    /// - Throws: as `append(_:into:)` with a raw buffer.
    public mutating func append(
        contentsOf chunk: some Collection<UInt8>,
        into elements: inout [SplitElement]
    ) throws(JSONArraySplitterError) {
        if let failure { throw failure }
        let error: JSONArraySplitterError?
        if let result = chunk.withContiguousStorageIfAvailable({ bytes in scan(bytes, into: &elements) }) {
            error = result
        } else {
            error = Array(chunk).withUnsafeBufferPointer { bytes in scan(bytes, into: &elements) }
        }
        if let error {
            failure = error
            throw error
        }
    }

    /// Checks, at the end of the body, that the array was complete.
    /// - Throws: `.truncated` when the closing `]` was not seen, or the error an `append` threw.
    public func finish() throws(JSONArraySplitterError) {
        if let failure { throw failure }
        guard phase == .complete else { throw .truncated(bytesConsumed: bytesConsumed) }
    }

    // MARK: - Scanning

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Scans one chunk; returns the error instead of throwing so the caller records it.
    private mutating func scan(
        _ bytes: UnsafeBufferPointer<UInt8>,
        into elements: inout [SplitElement]
    ) -> JSONArraySplitterError? {
        let count = bytes.count
        let origin = bytesConsumed
        var index = 0
        // Start of the current element's bytes within this chunk (meaningful when `started`).
        var runStart = 0

        while index < count {
            switch phase {
            case .beforeArray:
                let byte = bytes[index]
                if Self.isWhitespace(byte) {
                    index += 1
                } else if byte == UInt8(ascii: "[") {
                    phase = .afterOpen
                    index += 1
                } else {
                    bytesConsumed = origin + index
                    return .notAnArray(offset: origin + index)
                }

            case .afterOpen:
                let byte = bytes[index]
                if Self.isWhitespace(byte) {
                    index += 1
                } else if byte == UInt8(ascii: "]") {
                    phase = .complete
                    index += 1
                } else {
                    phase = .inElement
                    started = false
                }

            case .complete:
                let byte = bytes[index]
                guard Self.isWhitespace(byte) else {
                    bytesConsumed = origin + index
                    return .unexpectedByte(offset: origin + index, byte: byte)
                }
                index += 1

            case .inElement:
                if !started {
                    let byte = bytes[index]
                    if Self.isWhitespace(byte) {
                        index += 1
                        continue
                    }
                    if byte == UInt8(ascii: ",") {
                        elements.append(.element([]))
                        index += 1
                        continue
                    }
                    if byte == UInt8(ascii: "]") {
                        elements.append(.element([]))
                        phase = .complete
                        index += 1
                        continue
                    }
                    started = true
                    runStart = index
                }

                // The hot loop: state in locals, written back when the element ends or the chunk does.
                var depth = self.depth
                var inString = self.inString
                var escaped = self.escaped
                var boundary: UInt8 = 0
                scanning: while index < count {
                    if inString {
                        if escaped {
                            escaped = false
                            index += 1
                            continue
                        }
                        while index < count {
                            let byte = bytes[index]
                            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
                            index += 1
                        }
                        guard index < count else { break scanning }
                        if bytes[index] == UInt8(ascii: "\\") {
                            escaped = true
                        } else {
                            inString = false
                        }
                        index += 1
                        continue
                    }
                    let byte = bytes[index]
                    switch byte {
                    case UInt8(ascii: "\""):
                        inString = true
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        depth += 1
                        if depth > maxDepth {
                            bytesConsumed = origin + index
                            return .tooDeep(offset: origin + index)
                        }
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        if depth > 0 {
                            depth -= 1
                        } else if byte == UInt8(ascii: "]") {
                            boundary = byte
                            break scanning
                        } else {
                            bytesConsumed = origin + index
                            return .unexpectedByte(offset: origin + index, byte: byte)
                        }
                    case UInt8(ascii: ","):
                        if depth == 0 {
                            boundary = byte
                            break scanning
                        }
                    default:
                        break
                    }
                    index += 1
                }
                self.depth = depth
                self.inString = inString
                self.escaped = escaped

                guard boundary != 0 else { continue }  // chunk exhausted mid-element
                appendRun(bytes, from: runStart, to: index)
                emitElement(into: &elements)
                started = false
                if boundary == UInt8(ascii: "]") { phase = .complete }
                index += 1
            }
        }
        if phase == .inElement && started {
            appendRun(bytes, from: runStart, to: count)
        }
        bytesConsumed = origin + count
        return nil
    }

    /// Buffers `bytes[from..<to]` of the element in progress, or only counts them once it is oversized.
    private mutating func appendRun(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) {
        let runLength = to - from
        guard runLength > 0 else { return }
        if isOversized {
            oversizedTotal += runLength
            return
        }
        if buffer.count + runLength <= maxElementBytes {
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[from..<to]))
            return
        }
        isOversized = true
        oversizedTotal = buffer.count + runLength
        let keep = min(Self.oversizedPrefixBytes, maxElementBytes)
        if buffer.count >= keep {
            buffer.removeSubrange(keep...)
        } else {
            let missing = min(keep - buffer.count, runLength)
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[from..<(from + missing)]))
        }
    }

    /// Hands out the element in progress and resets for the next one, keeping the buffer's capacity.
    private mutating func emitElement(into elements: inout [SplitElement]) {
        if isOversized {
            elements.append(.oversized(prefix: buffer, totalBytes: oversizedTotal))
            isOversized = false
            oversizedTotal = 0
        } else {
            var end = buffer.count
            while end > 0 && Self.isWhitespace(buffer[end - 1]) { end -= 1 }
            // A copy of exactly the element's bytes: `Array(buffer[...])` could adopt the buffer
            // itself, whose capacity then went with every element (twice its size in memory) and
            // made the `removeAll` below allocate a new buffer for each element.
            elements.append(.element(buffer.withUnsafeBufferPointer { Array($0[0..<end]) }))
        }
        buffer.removeAll(keepingCapacity: true)
        depth = 0
        inString = false
        escaped = false
    }
}
