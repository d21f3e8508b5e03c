/// A secret kept outside the config file, found the same way for the API key and the database
/// password: in the file a config key names, else in an environment variable, else in a systemd
/// credential (`$CREDENTIALS_DIRECTORY/NAME`, from `LoadCredential=`).
struct ExternalSecret {
    /// The config key that names a file (`api.keyFile`), and the file it names, if set.
    var fileKey: String
    var file: String?
    /// The environment variable (`NP6_API_KEY`).
    var variable: String
    /// The systemd credential's name (`np6-api-key`).
    var credential: String
    /// What the file must hold, for messages ("the API key alone").
    var holding: String

    /// Where the secret was found.
    enum Lookup {
        /// Its text, untrimmed, with the issue path its errors name and where it came from
        /// (a file's path, or "the variable").
        case found(text: String, issuePath: String, source: String)
        /// No source is set; `note` says where the last one was looked for.
        case missing(note: String)
    }

    /// The first source that is set. Errors name the source, never what it holds.
    func lookUp(environment: [String: String]) throws(ConfigurationError) -> Lookup {
        if let file {
            return .found(
                text: try ConfigurationFiles.secretText(atPath: file, issuePath: fileKey, holding: holding),
                issuePath: fileKey, source: file)
        }
        if let value = environment[variable] {
            return .found(text: value, issuePath: variable, source: "the variable")
        }
        guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
            return .missing(note: "CREDENTIALS_DIRECTORY is not set")
        }
        let path = ConfigurationFiles.resolve(credential, against: directory)
        // Absent means the unit loads no such credential: look no further, but say where we looked.
        guard !ConfigurationFiles.isMissing(path) else { return .missing(note: "\(path) does not exist") }
        let issuePath = "credential \(credential)"
        return .found(
            text: try ConfigurationFiles.secretText(atPath: path, issuePath: issuePath, holding: holding),
            issuePath: issuePath, source: path)
    }
}
