import NP6Model

/// Everything the config file says, validated, with defaults filled in and paths made absolute.
///
/// Load it with ``load(path:environment:)``; the file's keys are documented in
/// `config.example.json`. Secrets are not part of it: they are read when needed, by
/// ``APIConfiguration/resolveKey(environment:)`` and ``SinkConfiguration/readSecret()``.
public struct SyncConfiguration: Sendable, Hashable {
    /// Used when neither `--config` nor `NP6_SYNC_CONFIG` names a file.
    public static let defaultPath = "/etc/np6-sync/config.json"
    /// The environment variable naming the config file.
    public static let pathEnvironmentVariable = "NP6_SYNC_CONFIG"

    /// `api`.
    public var api: APIConfiguration
    /// `database`.
    public var database: DatabaseConfiguration
    /// `sync`.
    public var sync: SyncWindowConfiguration
    /// `schedule`.
    public var schedule: ScheduleConfiguration
    /// `contacts`: the contacts listed in the config file itself, in order, without duplicates.
    public var contacts: [ContactReference]
    /// `contactsFile`: an absolute path to more contacts; see ``loadContacts()``.
    public var contactsFile: String?
    /// `sinks`, in order, with unique names.
    public var sinks: [SinkConfiguration]
    /// `logging`.
    public var logging: LoggingConfiguration
    /// `metrics`; `nil` serves no metrics.
    public var metrics: MetricsConfiguration?

    public init(
        api: APIConfiguration = APIConfiguration(),
        database: DatabaseConfiguration,
        sync: SyncWindowConfiguration = SyncWindowConfiguration(),
        schedule: ScheduleConfiguration = ScheduleConfiguration(),
        contacts: [ContactReference] = [],
        contactsFile: String? = nil,
        sinks: [SinkConfiguration] = [],
        logging: LoggingConfiguration = LoggingConfiguration(),
        metrics: MetricsConfiguration? = nil
    ) {
        self.api = api
        self.database = database
        self.sync = sync
        self.schedule = schedule
        self.contacts = contacts
        self.contactsFile = contactsFile
        self.sinks = sinks
        self.logging = logging
        self.metrics = metrics
    }

    /// The config file to read: the `--config` option when given, else `NP6_SYNC_CONFIG`, else
    /// ``defaultPath``.
    public static func path(option: String?, environment: [String: String]) -> String {
        if let option, !option.isEmpty { return option }
        if let variable = environment[pathEnvironmentVariable], !variable.isEmpty { return variable }
        return defaultPath
    }
}
