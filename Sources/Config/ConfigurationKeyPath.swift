import NP6Model

/// Where a value sits in a document, printed as users write it: `sinks[1].headers.X-Token`.
struct ConfigurationKeyPath: CustomStringConvertible {
    /// Printed before the path, e.g. the file of a contacts list: `contacts.json: [3].hash`.
    private let prefix: String?
    private let text: String

    init(prefix: String? = nil) {
        self.prefix = prefix
        self.text = ""
    }

    private init(prefix: String?, text: String) {
        self.prefix = prefix
        self.text = text
    }

    func appending(_ key: String) -> Self {
        let isPlain = !key.isEmpty && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-".contains($0)) }
        if !isPlain { return Self(prefix: prefix, text: text + "[\(quoted(key))]") }
        return Self(prefix: prefix, text: text.isEmpty ? key : text + "." + key)
    }

    func appending(index: Int) -> Self {
        Self(prefix: prefix, text: text + "[\(index)]")
    }

    var description: String {
        switch (prefix, text.isEmpty) {
        case (nil, true): "(top level)"
        case (nil, false): text
        case (let prefix?, true): prefix
        case (let prefix?, false): "\(prefix): \(text)"
        }
    }
}
