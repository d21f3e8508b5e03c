/// A JSON document as a small tree, for config files and contact lists (not the event hot path).
///
/// ```swift
/// let config = try JSONValue.parse(#"{"interval": 30, "contacts": ["unicity:a@x.com"]}"#)
/// let seconds = config["interval"]?.int64Value  // 30
/// ```
///
/// Numbers keep their literal text, so nothing is rounded; objects keep their members in
/// document order, duplicates included, for the caller to reject.
public enum JSONValue: Sendable, Hashable {
    /// Members in document order; duplicate keys are kept.
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    /// The number's literal text, e.g. `"30"` or `"-1.5e3"`.
    case number(String)
    case bool(Bool)
    case null

    /// Deeper nesting is a parse error.
    public static let maxDepth = 512

    /// Parses exactly one JSON value (RFC 8259) from UTF-8 bytes; whitespace may surround it.
    /// - Throws: `JSONParseError` locating the first syntax error.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        if let result = bytes.withContiguousStorageIfAvailable({ parse(buffer: $0) }) {
            return try result.get()
        }
        return try Array(bytes).withUnsafeBufferPointer { parse(buffer: $0) }.get()
    }

    /// Parses exactly one JSON value (RFC 8259) from text; whitespace may surround it.
    /// - Throws: `JSONParseError` locating the first syntax error.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { parse(buffer: $0) }.get()
    }

    /// Where an open container's values (and keys, for an object) start in the shared stacks.
    private struct Frame {
        var firstValue: Int
        var firstKey: Int
    }

    /// Builds the tree from the scanner's tokens with explicit stacks: no recursion, linear time.
    private static func parse(buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONParseError> {
        var scanner = JSONScanner(buffer, maxDepth: maxDepth)
        var frames: [Frame] = []
        var values: [JSONValue] = []  // completed values of all open containers, innermost last
        var keys: [String] = []  // keys of all open objects' members, innermost last
        var root: JSONValue = .null
        do throws(JSONSyntaxError) {
            while true {
                let completed: JSONValue
                switch try scanner.next() {
                case .end:
                    return .success(root)
                case .beginObject:
                    frames.append(Frame(firstValue: values.count, firstKey: keys.count))
                    continue
                case .beginArray:
                    frames.append(Frame(firstValue: values.count, firstKey: keys.count))
                    continue
                case .key(let span):
                    keys.append(scanner.decodeString(span))
                    continue
                case .endArray:
                    guard let frame = frames.popLast() else { continue }
                    completed = .array(Array(values[frame.firstValue...]))
                    values.removeSubrange(frame.firstValue...)
                case .endObject:
                    guard let frame = frames.popLast() else { continue }
                    var members: [JSONMember] = []
                    members.reserveCapacity(keys.count - frame.firstKey)
                    for (key, value) in zip(keys[frame.firstKey...], values[frame.firstValue...]) {
                        members.append(JSONMember(key: key, value: value))
                    }
                    completed = .object(members)
                    keys.removeSubrange(frame.firstKey...)
                    values.removeSubrange(frame.firstValue...)
                case .string(let span):
                    completed = .string(scanner.decodeString(span))
                case .number(let span):
                    completed = .number(String(decoding: scanner.bytes[span.start..<span.end], as: UTF8.self))
                case .bool(let flag):
                    completed = .bool(flag)
                case .null:
                    completed = .null
                }
                if frames.isEmpty {
                    root = completed
                } else {
                    values.append(completed)
                }
            }
        } catch {
            return .failure(JSONParseError(error, in: buffer))
        }
    }

    // MARK: - Reading

    /// The value of a number literal that is an integer (no fraction, no exponent) within Int64.
    public var int64Value: Int64? {
        guard case .number(var text) = self else { return nil }
        return text.withUTF8 { JSONScanner.parseInt64($0) }
    }

    /// The string, when this is one.
    public var stringValue: String? {
        guard case .string(let string) = self else { return nil }
        return string
    }

    /// The boolean, when this is one.
    public var boolValue: Bool? {
        guard case .bool(let flag) = self else { return nil }
        return flag
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    /// The members in document order, when this is an object.
    public var objectMembers: [JSONMember]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// The value of the first member named `key`, when this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        objectMembers?.first { $0.key == key }?.value
    }

    // MARK: - Writing

    /// Compact JSON text for this value: `JSONValue.parse(value.jsonText) == value`.
    ///
    /// Number literals are written as stored, so a `.number` built by hand must hold valid JSON
    /// number text. Iterative, so any depth is safe.
    public var jsonText: String {
        enum Work {
            case value(JSONValue)
            case text(String)
        }
        var output = ""
        var work: [Work] = [.value(self)]
        while let item = work.popLast() {
            switch item {
            case .text(let text):
                output += text
            case .value(let value):
                switch value {
                case .null: output += "null"
                case .bool(let flag): output += flag ? "true" : "false"
                case .number(let literal): output += literal
                case .string(let string): JSONText.appendQuoted(string, to: &output)
                case .array(let elements):
                    output += "["
                    work.append(.text("]"))
                    for (index, element) in elements.enumerated().reversed() {
                        work.append(.value(element))
                        if index > 0 { work.append(.text(",")) }
                    }
                case .object(let members):
                    output += "{"
                    work.append(.text("}"))
                    for (index, member) in members.enumerated().reversed() {
                        var key = ""
                        JSONText.appendQuoted(member.key, to: &key)
                        work.append(.value(member.value))
                        work.append(.text((index > 0 ? "," : "") + key + ":"))
                    }
                }
            }
        }
        return output
    }

    /// The kind of value with its article, for messages such as "expected an integer, found a string".
    public var typeName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}
