import Foundation
import PostgresNIO
import PostgresStore
import StoreTestSupport
import Testing

/// The built binary on a real PostgreSQL server (`NP6_TEST_POSTGRES_URL`, see
/// `scripts/test-postgres`): every test on a database of its own. Under `CI=true` these run, and
/// fail, when no server is named.
@Suite(.timeLimit(.minutes(10)), .enabled(if: PostgresTestServer.isEnabled))
struct PostgresEndToEndTests {
    let apiKey = "e2e-key-5b0d3c9e7a214f68"

    @Test func syncStatusEventsAndASinkOnPostgreSQL() async throws {
        try await PostgresEndToEndFixture.run(
            fakeArguments: ["--contacts", "20", "--seed", "23", "--events-per-contact", "0-6"], apiKey: apiKey
        ) { fixture in
            let (endpoint, password, directory) = (fixture.endpoint, fixture.password, fixture.directory)
            let archive = directory.path("archive.jsonl")
            let config = directory.file(
                "config.json",
                contents: """
                    {"api": {"baseURL": "\(fixture.baseURL)", "requestsPerSecond": 200, "maxConcurrentRequests": 4},
                     "database": \(fixture.databaseObject(passwordFile: true)),
                     "contacts": \(try await fixture.contactsList(by: "unicity")),
                     "sinks": [{"name": "archive", "type": "jsonl", "path": "\(archive)", "batchSize": 9}]}
                    """)

            let first = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(first.status == 0, "stderr: \(first.stderr)")
            #expect(first.stdout.contains("synced 20 contacts"))
            let second = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(second.status == 0, "stderr: \(second.stderr)")
            #expect(second.stdout.contains("0 new events"))

            // PostgreSQL holds exactly the fake's events, each payload as the API sent it.
            let expected = try await fixture.fakeEvents()
            #expect(!expected.isEmpty)
            try await fixture.expectStoredEvents(equal: expected)

            let events = try await Binary.run(["events", "--config", config, "--json"])
            #expect(events.status == 0, "stderr: \(events.stderr)")
            #expect(events.stdout.split(separator: "\n").count == expected.count)
            let status = try await Binary.run(["status", "--config", config, "--json"])
            #expect(status.status == 0, "stderr: \(status.stderr)")
            #expect(status.stdout.contains("\"stored\" : \(expected.count)"))
            #expect(status.stdout.contains("postgresql://\(endpoint.username)@"))
            let archived = ((try? String(contentsOfFile: archive, encoding: .utf8)) ?? "").split(separator: "\n")
            #expect(archived.count == expected.count, "the sink got every event once")
            let sinks = try await Binary.run(["sinks", "status", "--config", config])
            #expect(sinks.status == 0, "stderr: \(sinks.stderr)")
            #expect(sinks.stdout.contains("archive  jsonl  running  cursor \(expected.count)"))
            let list = try await Binary.run(["contacts", "list", "--config", config])
            #expect(list.stdout.split(separator: "\n").count == 20)
            let check = try await Binary.run(
                ["check-config", "--config", config], environment: ["NP6_API_KEY": apiKey])
            #expect(check.status == 0, "stderr: \(check.stderr)")
            #expect(check.stdout.contains("(connected without TLS: PostgreSQL"))
            #expect(check.stdout.contains("schema version 7"))

            for output in [first, second, events, status, sinks, list, check] {
                #expect(!output.stdout.contains(password) && !output.stderr.contains(password))
                #expect(!output.stdout.contains(apiKey) && !output.stderr.contains(apiKey))
            }
            let leaked = try await fixture.query(
                """
                SELECT count(*) FROM (SELECT last_error AS text FROM contacts UNION ALL SELECT error FROM sync_runs
                    UNION ALL SELECT value FROM meta UNION ALL SELECT payload FROM events) t
                WHERE position(\(password) IN text) > 0
                """
            ) { try $0.decode(Int.self) }
            #expect(leaked == [0], "the password is nowhere in the database")
        }
    }

    /// `np6-sync run` on PostgreSQL: it stores every event and delivers it to its sink, and
    /// SIGTERM ends it with exit 0.
    @Test func daemonStoresAndDeliversEveryEventAndExitsCleanlyOnSIGTERM() async throws {
        try await PostgresEndToEndFixture.run(
            fakeArguments: ["--contacts", "12", "--seed", "31", "--events-per-contact", "1-5"], apiKey: apiKey
        ) { fixture in
            let password = fixture.password
            let archive = fixture.directory.path("archive.jsonl")
            let config = fixture.directory.file(
                "config.json",
                contents: """
                    {"api": {"baseURL": "\(fixture.baseURL)", "requestsPerSecond": 100},
                     "schedule": {"intervalSeconds": 2, "jitterSeconds": 0},
                     "database": \(fixture.databaseObject(passwordFile: false)),
                     "contacts": \(try await fixture.contactsList(by: "id")),
                     "sinks": [{"name": "archive", "type": "jsonl", "path": "\(archive)"}]}
                    """)
            let daemon = try DaemonProcess(
                arguments: ["--config", config],
                environment: ["NP6_API_KEY": apiKey, "NP6_DATABASE_PASSWORD": password])
            #expect(await daemon.waitForLog("np6-sync started"))
            let expected = Set(try await fixture.fakeEvents().keys)
            #expect(!expected.isEmpty)
            #expect(
                try await eventually {
                    let archived = ((try? String(contentsOfFile: archive, encoding: .utf8)) ?? "")
                        .split(separator: "\n").count
                    return archived >= expected.count
                }, "the sink got every event")
            // The daemon holds the sink's lease: `sinks status` names it, and it gives it up on SIGTERM.
            let environment = ["NP6_DATABASE_PASSWORD": password]
            let holding = try await Binary.run(["sinks", "status", "--config", config], environment: environment)
            #expect(holding.status == 0, "stderr: \(holding.stderr)")
            #expect(holding.stdout.contains("pid \(daemon.process.processIdentifier) (instance "), "\(holding.stdout)")
            let lease = try sinkLease(
                try await Binary.run(["sinks", "status", "--config", config, "--json"], environment: environment))
            #expect(lease?["live"] as? Bool == true)
            #expect(lease?["pid"] as? Int == Int(daemon.process.processIdentifier))
            #expect(lease?["host"] as? String == ProcessInfo.processInfo.hostName)
            #expect(try await eventually { daemon.handles(SIGTERM) }, "the daemon traps SIGTERM")
            daemon.signal(SIGTERM)
            let exit = try #require(await daemon.waitForExit(timeout: 12))
            #expect(exit.status == 0, "stderr: \(daemon.stderr)")
            #expect(
                try sinkLease(
                    try await Binary.run(["sinks", "status", "--config", config, "--json"], environment: environment)
                ) == nil)
            let stored = try await fixture.query("SELECT id FROM events") { try $0.decode(String.self) }
            #expect(stored.count == expected.count, "each event stored once")
            #expect(Set(stored) == expected)
            #expect(!daemon.stderr.contains(password) && !daemon.stderr.contains(apiKey))
        }
    }

    /// The `lease` object of the first sink in `sinks status --json`; `nil` when it has none.
    func sinkLease(_ result: Binary.Result) throws -> [String: Any]? {
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let sink = try #require((report["sinks"] as? [[String: Any]])?.first)
        return sink["lease"] as? [String: Any]
    }

    @Test func passwordComesFromTheFileTheVariableOrTheCredentialAndNeverShows() async throws {
        let server = try PostgresTestServer.configured()
        let password = try #require(server.password, "the test server uses password authentication")
        try await server.withTemporaryDatabase { endpoint in
            let directory = try TemporaryDirectory()
            func config(passwordFile: String?) -> String {
                directory.file(
                    "config-\(UUID().uuidString).json",
                    contents:
                        #"{"database": \#(PostgresEndToEndFixture.databaseObject(endpoint, passwordFile: passwordFile))}"#
                )
            }
            func checkConfig(_ config: String, _ environment: [String: String]) async throws -> Binary.Result {
                try await Binary.run(
                    ["check-config", "--config", config],
                    environment: environment.merging(["NP6_API_KEY": apiKey]) { $1 })
            }

            let fromFile = try await checkConfig(
                config(passwordFile: directory.file("password", contents: password + "\n")), [:])
            #expect(fromFile.status == 0, "stderr: \(fromFile.stderr)")
            #expect(fromFile.stdout.contains("(connected without TLS: PostgreSQL"))
            let fromVariable = try await checkConfig(config(passwordFile: nil), ["NP6_DATABASE_PASSWORD": password])
            #expect(fromVariable.status == 0, "stderr: \(fromVariable.stderr)")
            let credentials = directory.path("credentials")
            try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
            _ = directory.file("credentials/np6-database-password", contents: password)
            let fromCredential = try await checkConfig(
                config(passwordFile: nil), ["CREDENTIALS_DIRECTORY": credentials])
            #expect(fromCredential.status == 0, "stderr: \(fromCredential.stderr)")
            // The file wins over the variable, which wins over the credential.
            let wrong = "wrong-db-password-83c1f0"
            let fileFirst = try await checkConfig(
                config(passwordFile: directory.file("wrong", contents: wrong)),
                ["NP6_DATABASE_PASSWORD": password, "CREDENTIALS_DIRECTORY": credentials])
            #expect(fileFirst.status == 1)
            let variableFirst = try await checkConfig(
                config(passwordFile: nil), ["NP6_DATABASE_PASSWORD": wrong, "CREDENTIALS_DIRECTORY": credentials])
            #expect(variableFirst.status == 1)

            // A wrong password: the server's refusal named, the password never shown.
            for result in [fileFirst, variableFirst] {
                #expect(result.stderr.contains("password authentication failed"), "stderr: \(result.stderr)")
                #expect(result.stderr.contains("postgresql://\(endpoint.username)@"))
                #expect(!result.stderr.contains(wrong) && !result.stdout.contains(wrong))
                #expect(!result.stderr.contains(password) && !result.stdout.contains(password))
            }
            let sync = try await Binary.run(
                ["status", "--config", config(passwordFile: nil)], environment: ["NP6_DATABASE_PASSWORD": wrong])
            #expect(sync.status == 1)
            #expect(sync.stderr.contains("password authentication failed"))
            #expect(!sync.stderr.contains(wrong))

            // In the URL, a password is a configuration error that does not repeat it.
            let inURL = directory.file(
                "in-url.json",
                contents: """
                    {"database": {"url": "postgresql://\(endpoint.username):\(wrong)@\(endpoint.host):\(endpoint.port)/\(endpoint.database)"}}
                    """)
            let refused = try await checkConfig(inURL, [:])
            #expect(refused.status == 78)
            #expect(refused.stderr.contains("database.url: must not contain a password"))
            #expect(!refused.stderr.contains(wrong))
            let both = directory.file(
                "both.json",
                contents: #"{"database": {"path": "x.sqlite", "url": "postgresql://u@localhost/db"}}"#)
            let conflicting = try await checkConfig(both, [:])
            #expect(conflicting.status == 78)
            #expect(conflicting.stderr.contains("database.path and database.url are both set"))
        }
    }

    /// The test server's TLS certificate (self-signed, for the name `localhost` only) is verified
    /// whenever TLS is used: `prefer`, `require` and `verify-ca` refuse it without its CA;
    /// `verify-full` and `require` accept it with its CA for `localhost` but not for 127.0.0.1 (no
    /// such name in it); `verify-ca` accepts it with its CA for either.
    @Test func tlsCertificatesAreVerifiedWheneverTLSIsUsed() async throws {
        let server = try PostgresTestServer.configured()
        let environment = ProcessInfo.processInfo.environment
        guard let ca = environment["NP6_TEST_POSTGRES_CA_FILE"] else {
            // scripts/test-postgres sets it when openssl is installed, as CI's is.
            if environment["CI"] == "true" { Issue.record("NP6_TEST_POSTGRES_CA_FILE is not set: no TLS to test") }
            return
        }
        let password = try #require(server.password)
        let directory = try TemporaryDirectory()
        let endpoint = server.endpoint
        func checkConfig(host: String, _ parameters: String) async throws -> Binary.Result {
            let config = directory.file(
                "config-\(UUID().uuidString).json",
                contents: """
                    {"database": {"url": "postgresql://\(endpoint.username)@\(host):\(endpoint.port)/\(endpoint.database)?\(parameters)"}}
                    """)
            return try await Binary.run(
                ["check-config", "--config", config],
                environment: ["NP6_API_KEY": apiKey, "NP6_DATABASE_PASSWORD": password])
        }
        let cases: [(host: String, parameters: String, connects: Bool, tls: Bool)] = [
            ("localhost", "sslmode=verify-full&sslrootcert=\(ca)", true, true),
            ("localhost", "sslmode=require&sslrootcert=\(ca)", true, true),
            ("127.0.0.1", "sslmode=verify-full&sslrootcert=\(ca)", false, true),
            ("127.0.0.1", "sslmode=require&sslrootcert=\(ca)", false, true),
            ("127.0.0.1", "sslmode=verify-ca&sslrootcert=\(ca)", true, true),
            ("localhost", "sslmode=require", false, true),
            ("localhost", "sslmode=prefer", false, true),
            ("localhost", "sslmode=verify-ca", false, true),
            ("127.0.0.1", "sslmode=disable", true, false),
        ]
        for (host, parameters, connects, tls) in cases {
            let result = try await checkConfig(host: host, parameters)
            let what = "\(host) \(parameters): \(result.stdout) \(result.stderr)"
            if connects {
                #expect(result.status == 0, "\(what)")
                #expect(result.stdout.contains(tls ? "(connected over TLS: " : "(connected without TLS: "), "\(what)")
            } else {
                #expect(result.status == 1, "\(what)")
                #expect(result.stderr.contains("cannot open the database"), "\(what)")
                #expect(
                    result.stderr.lowercased().contains("certificate") || result.stderr.contains("hostname"), "\(what)")
            }
            #expect(!result.stdout.contains(password) && !result.stderr.contains(password))
        }
    }
}
