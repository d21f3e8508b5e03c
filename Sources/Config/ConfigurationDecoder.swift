import NP6Model

/// Walks a parsed JSON tree into configuration values, recording every problem with its key path
/// instead of stopping at the first, so one `check-config` run shows all of them.
///
/// Readers return `nil` after reporting; callers then fall back to the default and carry on, and
/// the loader throws at the end if anything was reported.
final class ConfigurationDecoder {
    /// Where relative paths in the input are resolved from.
    let baseDirectory: String
    private(set) var issues: [ConfigurationIssue] = []

    init(baseDirectory: String) {
        self.baseDirectory = baseDirectory
    }

    func report(_ path: ConfigurationKeyPath, _ message: String) {
        issues.append(ConfigurationIssue(path: path.description, message: message))
    }

    /// Throws everything reported so far, if anything.
    func throwIfIssues() throws(ConfigurationError) {
        if !issues.isEmpty { throw ConfigurationError(issues: issues) }
    }

    // MARK: Objects

    /// The members of an object, after reporting duplicate and unknown keys.
    ///
    /// - Parameter unknownKeyMessage: a message for a particular unknown key (the API key put in
    ///   the file), instead of the generic one.
    func fields(
        of value: JSONValue,
        at path: ConfigurationKeyPath,
        knownKeys: [String],
        unknownKeyMessage: (String) -> String? = { _ in nil }
    ) -> ObjectFields? {
        guard case .object(let members) = value else {
            report(path, "expected an object, found \(value.typeName)")
            return nil
        }
        var seen: Set<String> = []
        var unique: [JSONMember] = []
        for member in members {
            let memberPath = path.appending(member.key)
            guard seen.insert(member.key).inserted else {
                report(memberPath, "duplicate key; each key may appear only once")
                continue
            }
            if knownKeys.contains(member.key) {
                unique.append(member)
            } else {
                let message = unknownKeyMessage(member.key) ?? Self.unknownKeyMessage(member.key, knownKeys: knownKeys)
                report(memberPath, message)
            }
        }
        return ObjectFields(path: path, members: unique)
    }

    static func unknownKeyMessage(_ key: String, knownKeys: [String]) -> String {
        if let suggestion = knownKeys.first(where: { isLikelyTypo(key, of: $0) }) {
            return "unknown key; did you mean \"\(suggestion)\"?"
        }
        return "unknown key; expected one of \(knownKeys.joined(separator: ", "))"
    }

    private static func isLikelyTypo(_ key: String, of known: String) -> Bool {
        if key.lowercased() == known.lowercased() { return true }
        guard key.count >= 4 else { return false }
        // Longer names tolerate more slips: "intervalSecs" is still "intervalSeconds".
        return editDistance(Array(key.lowercased()), Array(known.lowercased())) <= max(2, known.count / 5)
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }

    // MARK: Members

    /// The value of `key` converted by `read`, or `nil` when it is absent (or `null`, if
    /// `nullMeansAbsent`) or invalid.
    func read<T>(
        _ key: String,
        in fields: ObjectFields,
        nullMeansAbsent: Bool = false,
        _ read: (JSONValue, ConfigurationKeyPath) -> T?
    ) -> T? {
        guard let value = fields[key] else { return nil }
        if nullMeansAbsent, case .null = value { return nil }
        return read(value, fields.path.appending(key))
    }

    /// Reports a required key that is absent; `true` when present.
    func require(_ key: String, in fields: ObjectFields, example: String) -> Bool {
        guard fields[key] == nil else { return true }
        report(fields.path.appending(key), "required, e.g. \(example)")
        return false
    }

    // MARK: Scalars

    func string(_ value: JSONValue, at path: ConfigurationKeyPath) -> String? {
        guard case .string(let text) = value else {
            report(path, "expected a string, found \(value.typeName)")
            return nil
        }
        return text
    }

    func nonEmptyString(_ value: JSONValue, at path: ConfigurationKeyPath) -> String? {
        guard let text = string(value, at: path) else { return nil }
        guard !text.allSatisfy(\.isWhitespace) else {
            report(path, "must not be empty")
            return nil
        }
        return text
    }

    func bool(_ value: JSONValue, at path: ConfigurationKeyPath) -> Bool? {
        guard case .bool(let flag) = value else {
            report(path, "expected true or false, found \(value.typeName)")
            return nil
        }
        return flag
    }

    func integer(_ value: JSONValue, at path: ConfigurationKeyPath, in range: ClosedRange<Int>) -> Int? {
        guard case .number(let literal) = value else {
            report(path, "expected an integer, found \(value.typeName)")
            return nil
        }
        guard let wide = value.int64Value, let number = Int(exactly: wide) else {
            let isWhole = !literal.contains(where: { ".eE".contains($0) })
            report(path, isWhole ? "out of range, got \(literal)" : "expected an integer, got \(literal)")
            return nil
        }
        if number < range.lowerBound {
            report(path, "must be at least \(range.lowerBound), got \(number)")
            return nil
        }
        if number > range.upperBound {
            report(path, "must be at most \(range.upperBound), got \(number)")
            return nil
        }
        return number
    }

    /// A duration in whole seconds. The upper bound (ten years) keeps millisecond arithmetic far
    /// from overflow.
    func seconds(_ value: JSONValue, at path: ConfigurationKeyPath, minimum: Int) -> Int? {
        integer(value, at: path, in: minimum...Self.maximumSeconds)
    }

    static let maximumSeconds = 315_360_000

    /// One of the raw values of `T`, e.g. a log level.
    func choice<T: RawRepresentable & CaseIterable>(
        _ value: JSONValue,
        at path: ConfigurationKeyPath
    ) -> T? where T.RawValue == String {
        guard let text = string(value, at: path) else { return nil }
        guard let choice = T(rawValue: text) else {
            let names = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            report(path, "unknown value \(quoted(text)); expected one of \(names)")
            return nil
        }
        return choice
    }

    /// A file path, made absolute against ``baseDirectory``.
    func filePath(_ value: JSONValue, at path: ConfigurationKeyPath) -> String? {
        guard let text = nonEmptyString(value, at: path) else { return nil }
        return ConfigurationFiles.resolve(text, against: baseDirectory)
    }
}

/// `text` in double quotes, cut at 80 characters, with quotes and control characters escaped.
func quoted(_ text: some StringProtocol) -> String {
    let cut = text.count > 80 ? text.prefix(77) + "..." : Substring(text)
    var result = "\""
    for scalar in cut.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            result += "\\u{\(String(scalar.value, radix: 16))}"
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
