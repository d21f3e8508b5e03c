import NP6Model

/// Reading the files the configuration points to, when they are needed: at start-up, on SIGHUP
/// and in `check-config`.
extension SyncConfiguration {
    /// The contacts of the config file followed by those of `contactsFile`, each once.
    ///
    /// - Throws: when `contactsFile` cannot be read, with every bad line or element in it.
    public func loadContacts() throws(ConfigurationError) -> [ContactReference] {
        guard let contactsFile else { return contacts }
        let list: ContactList
        do {
            list = try ContactList.load(path: contactsFile)
        } catch {
            // Name the key that led to the file, as the other configuration errors do.
            throw ConfigurationError(
                issues: error.issues.map { issue in
                    issue.path == contactsFile
                        ? ConfigurationIssue(path: "contactsFile", message: "\(contactsFile): \(issue.message)")
                        : issue
                }
            )
        }
        var seen = Set(contacts)
        return contacts + list.contacts.filter { seen.insert($0).inserted }
    }

    /// Reads, without keeping anything, everything the configuration refers to outside itself:
    /// the API key, the contacts file, the webhook secrets. What `check-config` and start-up call
    /// to fail early with every problem at once.
    ///
    /// - Parameter requiringAPIKey: `false` for commands that never call the API.
    public func checkReferencedFiles(
        environment: [String: String],
        requiringAPIKey: Bool = true
    )
        throws(ConfigurationError)
    {
        var issues: [ConfigurationIssue] = []
        func collect(_ body: () throws(ConfigurationError) -> Void) {
            do { try body() } catch { issues += error.issues }
        }
        if requiringAPIKey {
            collect { () throws(ConfigurationError) in _ = try api.resolveKey(environment: environment) }
        }
        collect { () throws(ConfigurationError) in _ = try loadContacts() }
        if database.url != nil {
            collect { () throws(ConfigurationError) in _ = try database.resolvePassword(environment: environment) }
        }
        for sink in sinks {
            collect { () throws(ConfigurationError) in _ = try sink.readSecret() }
        }
        if !issues.isEmpty { throw ConfigurationError(issues: issues) }
    }
}

extension SinkConfiguration {
    /// The webhook's HMAC secret, read now from `secretFile`, surrounding whitespace removed;
    /// `nil` when the sink has none (or is not a webhook).
    ///
    /// Read it when the sink starts, so a rotated secret takes effect on restart or SIGHUP.
    ///
    /// - Throws: when the file cannot be read, is empty or is not UTF-8 text, or, with
    ///   `"signature": "standard"`, does not hold a Standard Webhooks secret (`whsec_` and
    ///   base64). The secret never appears in the error.
    public func readSecret() throws(ConfigurationError) -> Secret? {
        guard case .webhook(let webhook) = kind, let path = webhook.secretFile else { return nil }
        let issuePath = "sinks[\(quoted(name))].secretFile"
        let text = try ConfigurationFiles.secretText(atPath: path, issuePath: issuePath, holding: "the HMAC secret")
        let secret = Secret(unredactedValue: text.trimmingSurroundingWhitespace())
        guard !secret.unredactedValue.isEmpty else {
            throw ConfigurationError(path: issuePath, message: "\(path) is empty; it must hold the HMAC secret")
        }
        if webhook.signature == .standard, secret.standardWebhooksKey == nil {
            throw ConfigurationError(
                path: issuePath,
                message:
                    "\(path) does not hold a Standard Webhooks secret (\"whsec_\" followed by base64, e.g. made with: echo \"whsec_$(openssl rand -base64 32)\"), as \"signature\": \"standard\" needs"
            )
        }
        return secret
    }
}
