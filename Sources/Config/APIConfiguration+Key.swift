/// Finding the API key: never in the config file, always outside it.
extension APIConfiguration {
    /// The environment variable that may hold the key.
    public static let keyEnvironmentVariable = "NP6_API_KEY"
    /// The systemd credential (`LoadCredential=np6-api-key:/path`) that may hold the key.
    public static let keyCredentialName = "np6-api-key"

    /// The API key, from the first of these that is set: `api.keyFile`, `NP6_API_KEY`,
    /// `$CREDENTIALS_DIRECTORY/np6-api-key`. Surrounding whitespace (the newline an editor adds) is
    /// removed.
    ///
    /// Call it when a command needs the API, not when the config is loaded: `status` and
    /// `events` work without a key.
    ///
    /// - Throws: when the chosen source cannot be read, is empty or holds more than a key, and
    ///   when there is no source at all (the message lists all three). The key never appears in
    ///   the error.
    public func resolveKey(environment: [String: String]) throws(ConfigurationError) -> APIKey {
        let secret = ExternalSecret(
            fileKey: "api.keyFile", file: keyFile, variable: Self.keyEnvironmentVariable,
            credential: Self.keyCredentialName, holding: "the API key alone")
        switch try secret.lookUp(environment: environment) {
        case .found(let text, let issuePath, let source):
            return try Self.validatedKey(text, issuePath: issuePath, source: source)
        case .missing(let note):
            throw Self.noKeyError(note: note)
        }
    }

    private static func noKeyError(note: String) -> ConfigurationError {
        ConfigurationError(
            path: "API key",
            message: "not found; set api.keyFile in the config file, the \(Self.keyEnvironmentVariable) environment "
                + "variable, or the systemd credential \(Self.keyCredentialName) "
                + "(LoadCredential=\(Self.keyCredentialName):/etc/np6-sync/api-key) (\(note))"
        )
    }

    /// The key goes into an HTTP header: printable ASCII without spaces, once trimmed.
    private static func validatedKey(
        _ text: String,
        issuePath: String,
        source: String
    ) throws(ConfigurationError) -> APIKey {
        let key = text.trimmingSurroundingWhitespace()
        guard !key.isEmpty else {
            throw ConfigurationError(path: issuePath, message: "\(source) is empty; it must hold the API key")
        }
        guard key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ConfigurationError(
                path: issuePath,
                message: "\(source) must hold the API key alone: it contains spaces, line breaks or characters "
                    + "that cannot be sent in an HTTP header"
            )
        }
        return APIKey(unredactedValue: key)
    }
}

extension StringProtocol {
    /// Without leading and trailing whitespace and line breaks.
    func trimmingSurroundingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else {
            return ""
        }
        return String(self[first...last])
    }
}
