import Foundation
import NP6Model
import Testing

@testable import Config

/// The configuration file as a whole: defaults, every key, paths, and mistakes named by their key path.
@Suite struct ConfigurationTests {
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

    static let example = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config.example.json").path

    @Test func exampleConfigLoads() throws {
        let configuration = try SyncConfiguration.load(path: Self.example, environment: [:])
        #expect(configuration.api == APIConfiguration())
        #expect(configuration.schedule == ScheduleConfiguration())
        #expect(configuration.sync == SyncWindowConfiguration())
        #expect(configuration.logging == LoggingConfiguration())
        #expect(configuration.sinks.map(\.kind.typeName) == ["jsonl", "webhook", "command"])
        #expect(configuration.contacts.count == 3)
        #expect(configuration.database.url == nil && configuration.database.passwordFile == nil)
        #expect(configuration.database.leaseSeconds == 30)
    }

    /// The README says the example shows every key: each key the decoder accepts, in every
    /// section and in a sink of every type.
    @Test func exampleConfigShowsEveryKeyTheDecoderAccepts() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.example))
        let file = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(file.keys) == Set(SyncConfiguration.keys), "top-level keys")
        let sections: [String: [String]] = [
            "api": APIConfiguration.keys, "database": DatabaseConfiguration.keys, "sync": SyncWindowConfiguration.keys,
            "schedule": ScheduleConfiguration.keys, "logging": LoggingConfiguration.keys,
            "metrics": MetricsConfiguration.keys,
        ]
        for key in SyncConfiguration.keys where file[key] is [String: Any] {
            #expect(sections[key] != nil, "\(key) is an object: its keys belong in this test")
        }
        for (section, keys) in sections {
            let shown = try #require(file[section] as? [String: Any], "\(section) is in the example")
            #expect(Set(shown.keys) == Set(keys), "\(section)")
        }
        let sinks = try #require(file["sinks"] as? [[String: Any]])
        for (type, keys) in SinkConfiguration.keysByType {
            let shown = sinks.filter { $0["type"] as? String == type }.flatMap(\.keys)
            #expect(Set(shown) == Set(SinkConfiguration.commonKeys + keys), "a \(type) sink")
        }
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

    // MARK: Referenced files

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
}
