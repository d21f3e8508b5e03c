/// Where the SQLite database lives: the `database` object of the config file.
public struct DatabaseConfiguration: Sendable, Hashable {
    /// The file name used in the default locations.
    public static let defaultFileName = "np6-sync.sqlite"

    /// `database.path`: the SQLite file; absolute when it came from a config file.
    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// The database used when the config file names none: in the systemd state directory
    /// (`StateDirectory=` sets `STATE_DIRECTORY`, several colon-separated directories when the
    /// unit lists several; the first is used), else in the working directory.
    public static func defaultPath(environment: [String: String]) -> String {
        let first = environment["STATE_DIRECTORY"]?.split(separator: ":").first
        guard let directory = first, !directory.isEmpty else { return "./" + defaultFileName }
        return ConfigurationFiles.resolve(defaultFileName, against: String(directory))
    }
}

extension DatabaseConfiguration {
    static let keys = ["path"]

    init(decoding fields: ObjectFields?, environment: [String: String], with decoder: ConfigurationDecoder) {
        let configured = fields.flatMap { decoder.read("path", in: $0, decoder.filePath) }
        self.init(path: configured ?? Self.defaultPath(environment: environment))
    }
}
