import Foundation
import NP6Model
import Testing

@testable import Config

@Suite struct ConfigurationTests {
    /// A key no message may ever contain.
    static let distinctiveKey = "np6k3y-ZX81-7QW2-TOPSECRET"

    // MARK: Defaults and keys

    @Test func emptyObjectGivesTheDocumentedDefaults() throws {
        let configuration = try SyncConfiguration.parse("{}", environment: [:])
        #expect(configuration.api == APIConfiguration())
        #expect(configuration.api.baseURL == "https://api-cm.np6.com")
        #expect(configuration.api.timeoutSeconds == 30)
        #expect(configuration.api.requestsPerSecond == 5)
        #expect(configuration.api.maxConcurrentRequests == 4)
        #expect(configuration.api.keyFile == nil)
        #expect(configuration.database.path == "./np6-sync.sqlite")
        #expect(
            configuration.sync == SyncWindowConfiguration(initialStartMs: 0, lookbackSeconds: 900, maxWindowSeconds: 0)
        )
        #expect(
            configuration.schedule
                == ScheduleConfiguration(intervalSeconds: 300, jitterSeconds: 30, notFoundRecheckSeconds: 86_400)
        )
        #expect(configuration.contacts.isEmpty)
        #expect(configuration.contactsFile == nil)
        #expect(configuration.sinks.isEmpty)
        #expect(configuration.logging == LoggingConfiguration(level: .info, format: .logfmt))
        #expect(configuration.metrics == nil)
    }

    @Test func everyKeyIsParsed() throws {
        let json = """
            {
              "api": {"baseURL": "http://127.0.0.1:8080/np6/", "timeoutSeconds": 12, "requestsPerSecond": 9,
                      "maxConcurrentRequests": 2, "keyFile": "/run/keys/np6"},
              "database": {"path": "/data/np6.sqlite"},
              "sync": {"initialStart": "2021-02-23T14:13:02Z", "lookbackSeconds": 60, "maxWindowSeconds": 86400},
              "schedule": {"intervalSeconds": 120, "jitterSeconds": 5, "notFoundRecheckSeconds": 3600},
              "contacts": [{"unicity": "a@example.com"}, {"id": "000R4M0T"}, {"hash": "0123456789abcdef0123456789abcdef"}],
              "contactsFile": "/etc/np6-sync/contacts.txt",
              "sinks": [
                {"name": "out", "type": "jsonl", "path": "-"},
                {"name": "crm", "type": "webhook", "url": "https://crm.example.com/hook?source=np6",
                 "secretFile": "/etc/np6-sync/secret", "timeoutSeconds": 4, "headers": {"X-Source": "np6-sync"},
                 "batchSize": 25, "from": "now", "deadLetter": true},
                {"name": "script.v2", "type": "command", "argv": ["/usr/bin/handler", "--quiet"], "timeoutSeconds": 7}
              ],
              "logging": {"level": "debug", "format": "json"},
              "metrics": {"listen": "[::1]:9464"}
            }
            """
        let configuration = try SyncConfiguration.parse(json, environment: [:])
        #expect(
            configuration.api
                == APIConfiguration(
                    baseURL: "http://127.0.0.1:8080/np6",
                    timeoutSeconds: 12,
                    requestsPerSecond: 9,
                    maxConcurrentRequests: 2,
                    keyFile: "/run/keys/np6"
                )
        )
        #expect(configuration.database.path == "/data/np6.sqlite")
        #expect(
            configuration.sync
                == SyncWindowConfiguration(
                    initialStartMs: 1_614_089_582_000,
                    lookbackSeconds: 60,
                    maxWindowSeconds: 86_400
                )
        )
        #expect(configuration.sync.maxWindow == .seconds(86_400))
        #expect(
            configuration.schedule
                == ScheduleConfiguration(intervalSeconds: 120, jitterSeconds: 5, notFoundRecheckSeconds: 3600)
        )
        #expect(
            configuration.contacts == [
                ContactReference(kind: .unicity, value: "a@example.com"),
                ContactReference(kind: .id, value: "000R4M0T"),
                ContactReference(kind: .hash, value: "0123456789abcdef0123456789abcdef"),
            ]
        )
        #expect(configuration.contactsFile == "/etc/np6-sync/contacts.txt")
        #expect(
            configuration.sinks == [
                SinkConfiguration(name: "out", kind: .jsonl(JSONLSinkConfiguration(destination: .standardOutput))),
                SinkConfiguration(
                    name: "crm",
                    kind: .webhook(
                        WebhookSinkConfiguration(
                            url: "https://crm.example.com/hook?source=np6",
                            secretFile: "/etc/np6-sync/secret",
                            timeoutSeconds: 4,
                            headers: ["X-Source": "np6-sync"]
                        )
                    ),
                    batchSize: 25,
                    from: .now,
                    deadLetter: true
                ),
                SinkConfiguration(
                    name: "script.v2",
                    kind: .command(
                        CommandSinkConfiguration(arguments: ["/usr/bin/handler", "--quiet"], timeoutSeconds: 7)
                    )
                ),
            ]
        )
        #expect(configuration.logging == LoggingConfiguration(level: .debug, format: .json))
        #expect(configuration.metrics?.host == "::1")
        #expect(configuration.metrics?.port == 9464)
        #expect(configuration.metrics?.listen == "[::1]:9464")
    }

    @Test func nullMeansUnsetForOptionalKeys() throws {
        let json = #"{"api": {"keyFile": null}, "contactsFile": null, "metrics": null}"#
        let configuration = try SyncConfiguration.parse(json, environment: [:])
        #expect(configuration.api.keyFile == nil)
        #expect(configuration.contactsFile == nil)
        #expect(configuration.metrics == nil)
        #expect(
            try issues(#"{"schedule": {"intervalSeconds": null}}"#) == [
                "schedule.intervalSeconds: expected an integer, found null"
            ]
        )
    }

    /// Each numeric key set alone, to the smallest and the largest value it accepts: the
    /// defaults of the other keys must fit it (a default that depends on another key follows it).
    @Test(arguments: [
        #"{"api": {"timeoutSeconds": 1}}"#, #"{"api": {"timeoutSeconds": 315360000}}"#,
        #"{"api": {"requestsPerSecond": 1}}"#, #"{"api": {"requestsPerSecond": 10000}}"#,
        #"{"api": {"maxConcurrentRequests": 1}}"#, #"{"api": {"maxConcurrentRequests": 1000}}"#,
        #"{"sync": {"initialStart": 0}}"#, #"{"sync": {"initialStart": "9999-12-31"}}"#,
        #"{"sync": {"lookbackSeconds": 10}}"#, #"{"sync": {"lookbackSeconds": 315360000}}"#,
        #"{"sync": {"maxWindowSeconds": 0}}"#, #"{"sync": {"maxWindowSeconds": 1}}"#,
        #"{"sync": {"maxWindowSeconds": 315360000}}"#,
        #"{"schedule": {"intervalSeconds": 1}}"#, #"{"schedule": {"intervalSeconds": 10}}"#,
        #"{"schedule": {"intervalSeconds": 315360000}}"#,
        #"{"schedule": {"jitterSeconds": 0}}"#, #"{"schedule": {"jitterSeconds": 300}}"#,
        #"{"schedule": {"notFoundRecheckSeconds": 1}}"#, #"{"schedule": {"notFoundRecheckSeconds": 315360000}}"#,
        #"{"sinks": [{"name": "a", "type": "jsonl", "path": "-", "batchSize": 1}]}"#,
        #"{"sinks": [{"name": "a", "type": "jsonl", "path": "-", "batchSize": 10000}]}"#,
        #"{"sinks": [{"name": "a", "type": "webhook", "url": "https://x.example", "timeoutSeconds": 1}]}"#,
        #"{"sinks": [{"name": "a", "type": "webhook", "url": "https://x.example", "timeoutSeconds": 315360000}]}"#,
        #"{"sinks": [{"name": "a", "type": "command", "argv": ["x"], "timeoutSeconds": 1}]}"#,
        #"{"sinks": [{"name": "a", "type": "command", "argv": ["x"], "timeoutSeconds": 315360000}]}"#,
    ])
    func anyValidValueOfOneKeyFitsTheOtherDefaults(json: String) throws {
        _ = try SyncConfiguration.parse(json, environment: [:])
    }

    @Test func defaultJitterIsAtMostTheInterval() throws {
        let short = try SyncConfiguration.parse(#"{"schedule": {"intervalSeconds": 10}}"#, environment: [:])
        #expect(short.schedule == ScheduleConfiguration(intervalSeconds: 10, jitterSeconds: 10))
        let long = try SyncConfiguration.parse(#"{"schedule": {"intervalSeconds": 3600}}"#, environment: [:])
        #expect(long.schedule.jitterSeconds == 30)
        #expect(ScheduleConfiguration(intervalSeconds: 1).jitterSeconds == 1)
    }

    @Test func initialStartAcceptsISODatesAndMilliseconds() throws {
        for (value, expected): (String, Int64) in [
            (#""2021-02-23T14:13:02Z""#, 1_614_089_582_000),
            (#""2021-02-23T15:13:02+01:00""#, 1_614_089_582_000),
            (#""2021-02-23""#, 1_614_038_400_000),
            ("1614089582000", 1_614_089_582_000),
            ("0", 0),
        ] {
            let configuration = try SyncConfiguration.parse(#"{"sync": {"initialStart": \#(value)}}"#, environment: [:])
            #expect(configuration.sync.initialStartMs == expected, "\(value)")
        }
    }

    @Test func exampleConfigLoads() throws {
        let example = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config.example.json").path
        let configuration = try SyncConfiguration.load(path: example, environment: [:])
        #expect(configuration.api == APIConfiguration())
        #expect(configuration.schedule == ScheduleConfiguration())
        #expect(configuration.sync == SyncWindowConfiguration())
        #expect(configuration.logging == LoggingConfiguration())
        #expect(configuration.sinks.map(\.kind.typeName) == ["jsonl", "webhook", "command"])
        #expect(configuration.contacts.count == 3)
    }

    // MARK: Paths

    @Test func configPathComesFromOptionThenEnvironmentThenDefault() {
        let environment = ["NP6_SYNC_CONFIG": "/srv/np6/config.json"]
        #expect(SyncConfiguration.path(option: "./my.json", environment: environment) == "./my.json")
        #expect(SyncConfiguration.path(option: nil, environment: environment) == "/srv/np6/config.json")
        #expect(SyncConfiguration.path(option: nil, environment: [:]) == "/etc/np6-sync/config.json")
        #expect(
            SyncConfiguration.path(option: nil, environment: ["NP6_SYNC_CONFIG": ""]) == "/etc/np6-sync/config.json"
        )
    }

    @Test func databaseDefaultsToTheFirstStateDirectory() throws {
        let cases: [(String?, String)] = [
            (nil, "./np6-sync.sqlite"),
            ("", "./np6-sync.sqlite"),
            ("/var/lib/np6-sync", "/var/lib/np6-sync/np6-sync.sqlite"),
            ("/var/lib/np6-sync:/var/lib/other", "/var/lib/np6-sync/np6-sync.sqlite"),
        ]
        for (stateDirectory, expected) in cases {
            let environment = stateDirectory.map { ["STATE_DIRECTORY": $0] } ?? [:]
            let configuration = try SyncConfiguration.parse("{}", environment: environment)
            #expect(configuration.database.path == expected)
        }
        // A path in the file wins over the state directory.
        let configured = try SyncConfiguration.parse(
            #"{"database": {"path": "/tmp/x.sqlite"}}"#,
            environment: ["STATE_DIRECTORY": "/var/lib/np6-sync"]
        )
        #expect(configured.database.path == "/tmp/x.sqlite")
    }

    @Test func relativePathsResolveAgainstTheConfigFileDirectory() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory + "/etc", withIntermediateDirectories: true)
            let json = """
                {
                  "api": {"keyFile": "secrets/api-key"},
                  "database": {"path": "../state/db.sqlite"},
                  "contactsFile": "./contacts.txt",
                  "sinks": [
                    {"name": "file", "type": "jsonl", "path": "out/events.jsonl"},
                    {"name": "hook", "type": "webhook", "url": "https://example.com/h", "secretFile": "hook-secret"}
                  ]
                }
                """
            try json.write(toFile: directory + "/etc/config.json", atomically: true, encoding: .utf8)
            let configuration = try SyncConfiguration.load(path: directory + "/etc/config.json", environment: [:])
            #expect(configuration.api.keyFile == directory + "/etc/secrets/api-key")
            #expect(configuration.database.path == directory + "/state/db.sqlite")
            #expect(configuration.contactsFile == directory + "/etc/contacts.txt")
            #expect(
                configuration.sinks[0].kind
                    == .jsonl(JSONLSinkConfiguration(destination: .file(directory + "/etc/out/events.jsonl")))
            )
            guard case .webhook(let webhook) = configuration.sinks[1].kind else {
                Issue.record("expected a webhook")
                return
            }
            #expect(webhook.secretFile == directory + "/etc/hook-secret")
        }
    }

    @Test func relativePathsInAStringResolveAgainstTheWorkingDirectory() throws {
        let configuration = try SyncConfiguration.parse(#"{"contactsFile": "contacts.txt"}"#, environment: [:])
        let expected = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent("contacts.txt").standardizedFileURL.path
        #expect(configuration.contactsFile == expected)
        let based = try SyncConfiguration.parse(
            #"{"contactsFile": "c.txt"}"#,
            baseDirectory: "/srv/np6",
            environment: [:]
        )
        #expect(based.contactsFile == "/srv/np6/c.txt")
    }

    // MARK: Mistakes, each named by its key path

    @Test func wrongTypeNamesTheKeyPath() throws {
        let json =
            #"{"sinks": [{"name": "a", "type": "jsonl", "path": "-"}, {"name": "b", "type": "webhook", "url": 42}]}"#
        #expect(try issues(json) == ["sinks[1].url: expected a string, found a number"])
        #expect(try issues(#"{"api": []}"#) == ["api: expected an object, found an array"])
        #expect(
            try issues(#"{"api": {"timeoutSeconds": "30"}}"#) == [
                "api.timeoutSeconds: expected an integer, found a string"
            ]
        )
        #expect(try issues(#"{"sinks": {}}"#) == ["sinks: expected an array of sinks, found an object"])
        #expect(
            try issues(#"{"sinks": [{"name": "a", "type": "jsonl", "path": "-", "deadLetter": "yes"}]}"#)
                == ["sinks[0].deadLetter: expected true or false, found a string"]
        )
        #expect(try issues("[]") == ["config: expected a JSON object at the top level, found an array"])
    }

    @Test func unknownKeyIsAnErrorWithASuggestion() throws {
        #expect(
            try issues(#"{"api": {"baseUrl": "https://x.example"}}"#) == [
                #"api.baseUrl: unknown key; did you mean "baseURL"?"#
            ]
        )
        #expect(
            try issues(#"{"schedule": {"intervalSecs": 60}}"#) == [
                #"schedule.intervalSecs: unknown key; did you mean "intervalSeconds"?"#
            ]
        )
        let unrelated = try issues(#"{"colour": "blue"}"#)
        #expect(unrelated.count == 1)
        #expect(unrelated[0].hasPrefix("colour: unknown key; expected one of api, database"))
        #expect(
            try issues(#"{"logging": {"level": "info", "file": "/var/log/x"}}"#).first?.hasPrefix(
                "logging.file: unknown key"
            ) == true
        )
        #expect(
            try issues(#"{"metrics": {"listen": "127.0.0.1:1", "path": "/m"}}"#).first?.hasPrefix(
                "metrics.path: unknown key"
            ) == true
        )
    }

    @Test(arguments: [
        #"{"api": {"apiKey": "KEY"}}"#,
        #"{"api": {"key": "KEY"}}"#,
        #"{"api": {"api_key": "KEY"}}"#,
        #"{"apiKey": "KEY"}"#,
    ])
    func apiKeyInTheConfigFileIsRefusedWithoutEchoingIt(template: String) throws {
        let json = template.replacingOccurrences(of: "KEY", with: Self.distinctiveKey)
        let found = try issues(json)
        #expect(found.count == 1)
        #expect(
            found[0].contains(
                "the API key is never read from the config file; use api.keyFile, NP6_API_KEY or the systemd credential np6-api-key"
            )
        )
        #expect(!found[0].contains(Self.distinctiveKey))
    }

    @Test(arguments: [
        (#""ftp://example.com""#, #"api.baseURL: expected an http:// or https:// URL, got scheme "ftp""#),
        (#""example.com""#, #"api.baseURL: expected an http:// or https:// URL, got "example.com""#),
        (#""https://""#, #"api.baseURL: has no valid host, got "https://""#),
        (
            #""https://exa mple.com""#,
            #"api.baseURL: must not contain spaces or control characters, got "https://exa mple.com""#
        ),
        (
            #""https://example.com:99999""#,
            #"api.baseURL: has an invalid port (1-65535), got "https://example.com:99999""#
        ),
        (
            #""https://example.com/?a=1""#,
            #"api.baseURL: must not have a query or fragment, got "https://example.com/?a=1""#
        ),
        (#""""#, "api.baseURL: must not be empty"),
    ])
    func badBaseURLIsRejected(value: String, expected: String) throws {
        #expect(try issues(#"{"api": {"baseURL": \#(value)}}"#) == [expected])
    }

    @Test func urlWithCredentialsIsRejectedWithoutEchoingThem() throws {
        let json =
            #"{"sinks": [{"name": "h", "type": "webhook", "url": "https://bob:\#(Self.distinctiveKey)@crm.example.com/"}]}"#
        let found = try issues(json)
        #expect(
            found == ["sinks[0].url: must not contain a user name or password; send credentials in a header instead"]
        )
    }

    @Test(arguments: [
        (#"{"schedule": {"intervalSeconds": -5}}"#, "schedule.intervalSeconds: must be at least 1, got -5"),
        (#"{"schedule": {"intervalSeconds": 0}}"#, "schedule.intervalSeconds: must be at least 1, got 0"),
        (#"{"schedule": {"intervalSeconds": 1.5}}"#, "schedule.intervalSeconds: expected an integer, got 1.5"),
        (
            #"{"schedule": {"intervalSeconds": 99999999999999999999}}"#,
            "schedule.intervalSeconds: out of range, got 99999999999999999999"
        ),
        (
            #"{"schedule": {"intervalSeconds": 400000000}}"#,
            "schedule.intervalSeconds: must be at most 315360000, got 400000000"
        ),
        (#"{"schedule": {"jitterSeconds": -1}}"#, "schedule.jitterSeconds: must be at least 0, got -1"),
        (
            #"{"schedule": {"intervalSeconds": 60, "jitterSeconds": 61}}"#,
            "schedule.jitterSeconds: must not exceed schedule.intervalSeconds (60), got 61"
        ),
        (
            #"{"schedule": {"jitterSeconds": 301}}"#,
            "schedule.jitterSeconds: must not exceed schedule.intervalSeconds (its default 300), got 301"
        ),
        (#"{"schedule": {"notFoundRecheckSeconds": 0}}"#, "schedule.notFoundRecheckSeconds: must be at least 1, got 0"),
        (#"{"api": {"timeoutSeconds": 0}}"#, "api.timeoutSeconds: must be at least 1, got 0"),
        (#"{"api": {"requestsPerSecond": 0}}"#, "api.requestsPerSecond: must be at least 1, got 0"),
        (#"{"api": {"maxConcurrentRequests": 0}}"#, "api.maxConcurrentRequests: must be at least 1, got 0"),
        (#"{"sync": {"lookbackSeconds": -1}}"#, "sync.lookbackSeconds: must be at least 0, got -1"),
        // Issue 18: below the clock skew np6-sync tolerates, a skewed clock could skip events.
        (
            #"{"sync": {"lookbackSeconds": 9}}"#,
            "sync.lookbackSeconds: must be at least 10, the clock skew tolerated between this host and the API "
                + "(a shorter lookback could miss events published meanwhile), got 9"
        ),
        (
            #"{"sync": {"lookbackSeconds": 0}}"#,
            "sync.lookbackSeconds: must be at least 10, the clock skew tolerated between this host and the API "
                + "(a shorter lookback could miss events published meanwhile), got 0"
        ),
        (#"{"sync": {"maxWindowSeconds": -1}}"#, "sync.maxWindowSeconds: must be at least 0, got -1"),
        (
            #"{"sinks": [{"name": "a", "type": "jsonl", "path": "-", "batchSize": 0}]}"#,
            "sinks[0].batchSize: must be at least 1, got 0"
        ),
        (
            #"{"sinks": [{"name": "a", "type": "jsonl", "path": "-", "batchSize": 10001}]}"#,
            "sinks[0].batchSize: must be at most 10000, got 10001"
        ),
        (
            #"{"sinks": [{"name": "a", "type": "command", "argv": ["x"], "timeoutSeconds": 0}]}"#,
            "sinks[0].timeoutSeconds: must be at least 1, got 0"
        ),
        (#"{"metrics": {"listen": "127.0.0.1:0"}}"#, #"metrics.listen: the port must be between 1 and 65535, got "0""#),
        (
            #"{"metrics": {"listen": "127.0.0.1:65536"}}"#,
            #"metrics.listen: the port must be between 1 and 65535, got "65536""#
        ),
        (
            #"{"metrics": {"listen": "9464"}}"#,
            #"metrics.listen: expected HOST:PORT such as "127.0.0.1:9464" or "[::1]:9464", got "9464""#
        ),
        (#"{"metrics": {}}"#, #"metrics.listen: required when metrics is present, e.g. "127.0.0.1:9464""#),
        (
            #"{"logging": {"level": "verbose"}}"#,
            #"logging.level: unknown value "verbose"; expected one of "trace", "debug", "info", "notice", "warning", "error", "critical""#
        ),
        (
            #"{"logging": {"format": "text"}}"#,
            #"logging.format: unknown value "text"; expected one of "logfmt", "json""#
        ),
    ])
    func outOfRangeValueIsRejected(json: String, expected: String) throws {
        #expect(try issues(json) == [expected])
    }

    @Test(arguments: [
        (
            #""yesterday""#,
            #"sync.initialStart: expected an ISO-8601 date such as "2021-02-23T14:13:02Z" or "2021-02-23", or integer milliseconds, got "yesterday""#
        ),
        ("-1", "sync.initialStart: must not be before 1970-01-01T00:00:00Z, got -1 ms"),
        ("1.5", "sync.initialStart: expected integer milliseconds or an ISO-8601 date, got 1.5"),
        ("true", "sync.initialStart: expected an ISO-8601 date string or integer milliseconds, found a boolean"),
    ])
    func badInitialStartIsRejected(value: String, expected: String) throws {
        #expect(try issues(#"{"sync": {"initialStart": \#(value)}}"#) == [expected])
    }

    @Test func initialStartInSecondsIsCaught() throws {
        let found = try issues(#"{"sync": {"initialStart": 1614089582}}"#)
        #expect(found.count == 1)
        #expect(found[0].hasPrefix("sync.initialStart: 1614089582 milliseconds is 1970-01-19"))
        #expect(found[0].hasSuffix("if you meant seconds, write 1614089582000"))
    }

    @Test func duplicateKeysAreRejectedWithTheirPath() throws {
        #expect(
            try issues(#"{"api": {"timeoutSeconds": 5, "timeoutSeconds": 6}}"#) == [
                "api.timeoutSeconds: duplicate key; each key may appear only once"
            ]
        )
        #expect(
            try issues(#"{"logging": {}, "logging": {}}"#) == ["logging: duplicate key; each key may appear only once"]
        )
        #expect(
            try issues(#"{"sinks": [{"name": "a", "name": "b", "type": "jsonl", "path": "-"}]}"#) == [
                "sinks[0].name: duplicate key; each key may appear only once"
            ]
        )
    }

    @Test func duplicateSinkNamesAreRejected() throws {
        let json = """
            {"sinks": [
              {"name": "crm", "type": "jsonl", "path": "/tmp/a.jsonl"},
              {"name": "other", "type": "jsonl", "path": "/tmp/b.jsonl"},
              {"name": "crm", "type": "command", "argv": ["/bin/true"]}
            ]}
            """
        #expect(try issues(json) == [#"sinks[2].name: duplicate sink name "crm"; sinks[0].name has it too"#])
    }

    @Test func twoSinksWritingOneFileAreRejected() throws {
        let json =
            #"{"sinks": [{"name": "a", "type": "jsonl", "path": "/tmp/x.jsonl"}, {"name": "b", "type": "jsonl", "path": "/tmp/./x.jsonl"}]}"#
        #expect(
            try issues(json) == ["sinks[1].path: sinks[0] writes there too; two sinks would interleave their lines"]
        )
    }

    @Test(arguments: [
        (#"{}"#, "contacts[0]: expected exactly one of id, unicity or hash, found none"),
        (#"{"id": "a", "hash": "b"}"#, "contacts[0]: expected exactly one of id, unicity or hash, found id and hash"),
        (
            #"{"email": "a@example.com"}"#,
            #"contacts[0].email: unknown key; a contact is one of {"id": …}, {"unicity": …} or {"hash": …}"#
        ),
        (#"{"unicity": ""}"#, "contacts[0].unicity: must not be empty"),
        (
            #"{"unicity": " a@example.com"}"#,
            #"contacts[0].unicity: must not start or end with whitespace, got " a@example.com""#
        ),
        (#"{"id": 5}"#, "contacts[0].id: expected a string, found a number"),
        (
            #""id:000R4M0T""#,
            #"contacts[0]: expected an object such as {"unicity": "someone@example.com"}, found a string"#
        ),
    ])
    func badContactObjectIsRejected(contact: String, expected: String) throws {
        #expect(try issues(#"{"contacts": [\#(contact)]}"#) == [expected])
    }

    @Test func duplicateContactNamesBothIndexes() throws {
        let json = #"{"contacts": [{"id": "A"}, {"unicity": "x@example.com"}, {"id": "A"}]}"#
        #expect(try issues(json) == ["contacts[2]: duplicate of contacts[0] (id:A)"])
    }

    @Test func sinkTypeAndItsKeysAreValidated() throws {
        let json = """
            {"sinks": [
              {"name": "no-type", "path": "-"},
              {"name": "kafka", "type": "kafka"},
              {"name": "j", "type": "jsonl", "path": "-", "url": "https://x.example"},
              {"name": "j2", "type": "jsonl"},
              {"name": "h", "type": "webhook", "secret": "\(Self.distinctiveKey)"},
              {"name": "c", "type": "command", "argv": []},
              {"name": "bad name!", "type": "command", "argv": ["/bin/true", 1]},
              {"type": "webhook", "url": "https://x.example", "headers": {"Content-Length": "1", "X-A": 2, "X-B": "a\\nb"}}
            ]}
            """
        let found = try issues(json)
        #expect(
            found == [
                #"sinks[0].type: required; expected one of "jsonl", "webhook", "command""#,
                #"sinks[1].type: unknown sink type "kafka"; expected one of "jsonl", "webhook", "command""#,
                "sinks[2].url: unknown key for a jsonl sink",
                #"sinks[3].path: required, e.g. "/var/lib/np6-sync/stop-events.jsonl" or "-" for standard output"#,
                "sinks[4].secret: a webhook secret is never read from the config file; put it in a file and set secretFile",
                #"sinks[4].url: required, e.g. "https://crm.example.com/hooks/np6-stops""#,
                "sinks[5].argv: must name at least the program to run",
                #"sinks[6].name: may contain only letters, digits, '.', '_' and '-', got "bad name!""#,
                "sinks[6].argv[1]: expected a string, found a number",
                #"sinks[7].name: required; a unique name such as "crm""#,
                "sinks[7].headers.Content-Length: is set by np6-sync and cannot be configured",
                "sinks[7].headers.X-A: expected a string, found a number",
                "sinks[7].headers.X-B: must not contain line breaks or control characters",
            ]
        )
        #expect(!found.joined().contains(Self.distinctiveKey))
    }

    @Test func commandEnvIsAnObjectOfVariablesToStrings() throws {
        let configuration = try SyncConfiguration.parse(
            """
            {"sinks": [{"name": "c", "type": "command", "argv": ["/bin/true"],
                        "env": {"CRM_URL": "https://crm.example.com", "_X1": ""}}]}
            """, environment: [:])
        #expect(
            configuration.sinks.first?.kind
                == .command(
                    CommandSinkConfiguration(
                        arguments: ["/bin/true"], environment: ["CRM_URL": "https://crm.example.com", "_X1": ""])))
        let found = try issues(
            """
            {"sinks": [
              {"name": "c", "type": "command", "argv": ["/bin/true"],
               "env": {"1ST": "a", "A-B": "b", "NP6_SYNC_SINK": "x", "TOKEN": 3, "OK": "\(Self.distinctiveKey)"}},
              {"name": "d", "type": "command", "argv": ["/bin/true"], "env": ["A=1"]}
            ]}
            """)
        #expect(
            found == [
                "sinks[0].env.1ST: is not a valid environment variable name (letters, digits and '_', not first a digit)",
                "sinks[0].env.A-B: is not a valid environment variable name (letters, digits and '_', not first a digit)",
                "sinks[0].env.NP6_SYNC_SINK: is set by np6-sync to the sink's name and cannot be configured",
                "sinks[0].env.TOKEN: expected a string, found a number",
                "sinks[1].env: expected an object of variable names to string values, found an array",
            ])
        #expect(!found.joined().contains(Self.distinctiveKey))
    }

    @Test func webhookSignatureIsStandardOrNP6SyncAndNeedsASecret() throws {
        let configuration = try SyncConfiguration.parse(
            """
            {"sinks": [
              {"name": "a", "type": "webhook", "url": "https://x.example", "secretFile": "/s", "signature": "standard"},
              {"name": "b", "type": "webhook", "url": "https://x.example", "secretFile": "/s"},
              {"name": "c", "type": "webhook", "url": "https://x.example", "secretFile": "/s", "signature": "np6sync"}
            ]}
            """, environment: [:])
        let signatures = configuration.sinks.map { sink -> WebhookSinkConfiguration.Signature? in
            guard case .webhook(let webhook) = sink.kind else { return nil }
            return webhook.signature
        }
        #expect(signatures == [.standard, .np6sync, .np6sync], "np6sync unless configured")
        let found = try issues(
            """
            {"sinks": [
              {"name": "a", "type": "webhook", "url": "https://x.example", "signature": "standard"},
              {"name": "b", "type": "webhook", "url": "https://x.example", "secretFile": "/s", "signature": "svix"},
              {"name": "c", "type": "webhook", "url": "https://x.example", "headers": {"webhook-id": "x"}}
            ]}
            """)
        #expect(
            found == [
                #"sinks[0].signature: requests are signed only with a secret; set secretFile too (a "whsec_…" secret for "standard")"#,
                #"sinks[1].signature: unknown value "svix"; expected one of "standard", "np6sync""#,
                "sinks[2].headers.webhook-id: is set by np6-sync and cannot be configured",
            ])
    }

    @Test func standardSignatureSecretMustBeAStandardWebhooksSecret() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let legacy = directory.appendingPathComponent("legacy").path
        let standard = directory.appendingPathComponent("standard").path
        try write("\(Self.distinctiveKey)\n", to: legacy)
        try write("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", to: standard)
        func sink(_ file: String, _ signature: WebhookSinkConfiguration.Signature) -> SinkConfiguration {
            SinkConfiguration(
                name: "crm",
                kind: .webhook(
                    WebhookSinkConfiguration(url: "https://x.example", secretFile: file, signature: signature)))
        }
        #expect(try sink(standard, .standard).readSecret()?.standardWebhooksKey?.count == 24)
        #expect(try sink(legacy, .np6sync).readSecret()?.unredactedValue == Self.distinctiveKey)
        let error = try #require(throws: ConfigurationError.self) { try sink(legacy, .standard).readSecret() }
        #expect(error.issues.first?.path == #"sinks["crm"].secretFile"#)
        #expect(error.description.contains("does not hold a Standard Webhooks secret"))
        #expect(!error.description.contains(Self.distinctiveKey))
    }

    @Test func everyProblemIsReportedTogether() throws {
        let json = """
            {
              "api": {"timeoutSeconds": 0, "colour": 1},
              "schedule": {"intervalSeconds": -5},
              "sinks": [{"name": "x", "type": "webhook", "url": 3}],
              "logging": {"level": "loud"}
            }
            """
        let error = try #require(throws: ConfigurationError.self) {
            try SyncConfiguration.parse(json, environment: [:])
        }
        #expect(
            error.issues.map(\.path) == [
                "api.colour", "api.timeoutSeconds", "schedule.intervalSeconds", "sinks[0].url", "logging.level",
            ]
        )
        #expect(error.description.split(separator: "\n").count == 5)
        #expect(error.description.contains("schedule.intervalSeconds: must be at least 1, got -5"))
    }

    @Test func syntaxErrorGivesLineAndColumn() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try SyncConfiguration.parse(
                "{\n  \"api\": {\n    \"timeoutSeconds\": 30,\n  }\n}",
                source: "config.json",
                environment: [:]
            )
        }
        #expect(error.issues.count == 1)
        #expect(error.issues[0].path == "config.json")
        #expect(error.issues[0].message.hasPrefix("line 4, column "))
    }

    @Test func missingConfigFileIsAConfigurationError() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try SyncConfiguration.load(path: "/nonexistent/np6-sync/config.json", environment: [:])
        }
        #expect(
            error.description
                == "/nonexistent/np6-sync/config.json: cannot read the config file: No such file or directory"
        )
    }

    // MARK: API key

    @Test func keyFileIsReadAndTrimmed() throws {
        try withTemporaryDirectory { directory in
            try write("\(Self.distinctiveKey)\n", to: directory + "/key")
            let api = APIConfiguration(keyFile: directory + "/key")
            let key = try api.resolveKey(environment: ["NP6_API_KEY": "from-env", "CREDENTIALS_DIRECTORY": directory])
            #expect(key.unredactedValue == Self.distinctiveKey)
        }
    }

    @Test func keySourcesTakePrecedenceInOrder() throws {
        try withTemporaryDirectory { directory in
            try write("from-credential\n", to: directory + "/np6-api-key")
            let api = APIConfiguration()
            let both = ["NP6_API_KEY": "from-env", "CREDENTIALS_DIRECTORY": directory]
            #expect(try api.resolveKey(environment: both).unredactedValue == "from-env")
            #expect(
                try api.resolveKey(environment: ["CREDENTIALS_DIRECTORY": directory]).unredactedValue
                    == "from-credential"
            )
        }
    }

    @Test func missingKeyListsEveryPlace() throws {
        try withTemporaryDirectory { directory in
            for environment in [[:], ["CREDENTIALS_DIRECTORY": directory]] {
                let error = try #require(throws: ConfigurationError.self) {
                    try APIConfiguration().resolveKey(environment: environment)
                }
                #expect(error.issues.count == 1)
                #expect(error.description.contains("api.keyFile"))
                #expect(error.description.contains("NP6_API_KEY"))
                #expect(error.description.contains("np6-api-key"))
            }
        }
    }

    @Test func unusableKeySourceNamesItself() throws {
        try withTemporaryDirectory { directory in
            try write("  \n", to: directory + "/empty")
            try write("\(Self.distinctiveKey) extra\n", to: directory + "/two-words")
            try FileManager.default.createDirectory(
                atPath: directory + "/a-directory",
                withIntermediateDirectories: false
            )
            try FileManager.default.createDirectory(
                atPath: directory + "/creds/np6-api-key",
                withIntermediateDirectories: true
            )
            let cases: [(String?, [String: String], String)] = [
                (
                    directory + "/missing", [:],
                    "api.keyFile: cannot read \(directory)/missing: No such file or directory"
                ),
                (directory + "/a-directory", [:], "api.keyFile: cannot read \(directory)/a-directory: Is a directory"),
                (directory + "/empty", [:], "api.keyFile: \(directory)/empty is empty; it must hold the API key"),
                (
                    directory + "/two-words", [:],
                    "api.keyFile: \(directory)/two-words must hold the API key alone: it contains spaces, line breaks or characters that cannot be sent in an HTTP header"
                ),
                (nil, ["NP6_API_KEY": ""], "NP6_API_KEY: the variable is empty; it must hold the API key"),
                (
                    nil, ["NP6_API_KEY": "\(Self.distinctiveKey)\nsecond line"],
                    "NP6_API_KEY: the variable must hold the API key alone: it contains spaces, line breaks or characters that cannot be sent in an HTTP header"
                ),
                (
                    nil, ["CREDENTIALS_DIRECTORY": directory + "/creds"],
                    "credential np6-api-key: cannot read \(directory)/creds/np6-api-key: Is a directory"
                ),
            ]
            for (keyFile, environment, expected) in cases {
                let error = try #require(throws: ConfigurationError.self) {
                    try APIConfiguration(keyFile: keyFile).resolveKey(environment: environment)
                }
                #expect(error.description == expected)
                #expect(!error.description.contains(Self.distinctiveKey))
            }
        }
    }

    @Test(.enabled(if: getuid() != 0, "root reads any file"))
    func unreadableKeyFileIsReported() throws {
        try withTemporaryDirectory { directory in
            try write(Self.distinctiveKey, to: directory + "/key")
            try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: directory + "/key")
            let error = try #require(throws: ConfigurationError.self) {
                try APIConfiguration(keyFile: directory + "/key").resolveKey(environment: [:])
            }
            #expect(error.description == "api.keyFile: cannot read \(directory)/key: Permission denied")
        }
    }

    @Test func secretsPrintAsRedacted() {
        let key = APIKey(unredactedValue: Self.distinctiveKey)
        var dumped = ""
        dump(key, to: &dumped)
        for text in [key.description, key.debugDescription, "\(key)", String(reflecting: key), dumped, "\([key])"] {
            #expect(!text.contains(Self.distinctiveKey))
        }
        #expect("\(key)" == "<redacted>")
    }

    @Test func webhookHeaderValuesAreNotPrinted() throws {
        let json = """
            {"sinks": [{"name": "crm", "type": "webhook", "url": "https://crm.example.com/h",
                        "headers": {"Authorization": "Bearer \(Self.distinctiveKey)"}}]}
            """
        let configuration = try SyncConfiguration.parse(json, environment: [:])
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), dumped] {
            #expect(text.contains("Authorization: <redacted>"))
            #expect(!text.contains(Self.distinctiveKey))
        }
    }

    // MARK: Referenced files

    @Test func webhookSecretIsReadFromItsFile() throws {
        try withTemporaryDirectory { directory in
            try write("hmac-\(Self.distinctiveKey)\n", to: directory + "/secret")
            let json = """
                {"sinks": [
                  {"name": "crm", "type": "webhook", "url": "https://x.example/h", "secretFile": "secret"},
                  {"name": "bare", "type": "webhook", "url": "https://x.example/h"},
                  {"name": "lost", "type": "webhook", "url": "https://x.example/h", "secretFile": "missing"}
                ]}
                """
            let configuration = try SyncConfiguration.parse(json, baseDirectory: directory, environment: [:])
            #expect(try configuration.sinks[0].readSecret()?.unredactedValue == "hmac-\(Self.distinctiveKey)")
            #expect(try configuration.sinks[1].readSecret() == nil)
            let error = try #require(throws: ConfigurationError.self) { try configuration.sinks[2].readSecret() }
            #expect(
                error.description
                    == #"sinks["lost"].secretFile: cannot read \#(directory)/missing: No such file or directory"#
            )
        }
    }

    @Test func contactsFileIsMergedAfterTheInlineContacts() throws {
        try withTemporaryDirectory { directory in
            try write("id:B\nunicity:x@example.com\n", to: directory + "/contacts.txt")
            let json = #"{"contacts": [{"id": "A"}, {"unicity": "x@example.com"}], "contactsFile": "contacts.txt"}"#
            let configuration = try SyncConfiguration.parse(json, baseDirectory: directory, environment: [:])
            #expect(
                try configuration.loadContacts() == [
                    ContactReference(kind: .id, value: "A"),
                    ContactReference(kind: .unicity, value: "x@example.com"),
                    ContactReference(kind: .id, value: "B"),
                ]
            )
        }
    }

    @Test func checkReferencedFilesReportsEveryProblem() throws {
        try withTemporaryDirectory { directory in
            try write("id:B\nemail:x@example.com\n", to: directory + "/contacts.txt")
            let json = """
                {"contactsFile": "contacts.txt",
                 "sinks": [{"name": "crm", "type": "webhook", "url": "https://x.example/h", "secretFile": "nope"}]}
                """
            let configuration = try SyncConfiguration.parse(json, baseDirectory: directory, environment: [:])
            let error = try #require(throws: ConfigurationError.self) {
                try configuration.checkReferencedFiles(environment: [:])
            }
            #expect(
                error.issues.map(\.path) == [
                    "API key", "\(directory)/contacts.txt: line 2", #"sinks["crm"].secretFile"#,
                ]
            )
            let missing = try SyncConfiguration.parse(
                #"{"contactsFile": "gone.txt"}"#,
                baseDirectory: directory,
                environment: [:]
            )
            let missingError = try #require(throws: ConfigurationError.self) {
                try missing.checkReferencedFiles(environment: [:], requiringAPIKey: false)
            }
            #expect(
                missingError.description
                    == "contactsFile: \(directory)/gone.txt: cannot read the contacts: No such file or directory"
            )
        }
    }

    // MARK: Helpers

    /// The issues `json` yields, one `path: message` string each; fails when it loads.
    private func issues(_ json: String, environment: [String: String] = [:]) throws -> [String] {
        let error = try #require(throws: ConfigurationError.self) {
            try SyncConfiguration.parse(json, environment: environment)
        }
        return error.issues.map(\.description)
    }
}

private func write(_ text: String, to path: String) throws {
    try text.write(toFile: path, atomically: false, encoding: .utf8)
}

/// Runs `body` with a fresh directory that is removed afterwards.
private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("np6-sync-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try body(directory)
}

@Suite struct ConfigurationURLSecrecyTests {
    @Test(arguments: [
        "https://bob:pa55 word@crm.example.com/", "bob:pa55word@crm.example.com/", "https://bob:pa55word@/",
    ])
    func aURLWithAPasswordIsNeverEchoed(url: String) {
        let config = #"{"sinks": [{"name": "h", "type": "webhook", "url": "\#(url)"}]}"#
        #expect {
            _ = try SyncConfiguration.parse(config, environment: [:])
        } throws: { error in
            let message = "\(error)"
            return message.contains("sinks[0].url") && !message.contains("pa55")
        }
    }
}
