import Foundation
import Testing

@testable import Config

/// `database.url`, `database.passwordFile`, `database.leaseSeconds` and the password's sources.
@Suite struct DatabaseConfigurationTests {
    let password = "pg-Pa55-7f3e91c0"

    @Test func urlIsParsedIntoItsParts() throws {
        let configuration = try SyncConfiguration.parse(
            #"""
            {"database": {"url": "postgresql://np6%2Dsync@db.example.com:6432/np6_stops?sslmode=verify-ca&sslrootcert=ca.pem",
                          "passwordFile": "pw", "leaseSeconds": 45}}
            """#, baseDirectory: "/etc/np6-sync", environment: [:])
        let url = try #require(configuration.database.url)
        #expect(
            url
                == PostgresURL(
                    user: "np6-sync", host: "db.example.com", port: 6432, database: "np6_stops", sslMode: .verifyCA,
                    rootCertificatePath: "/etc/np6-sync/ca.pem"))
        #expect(configuration.database.passwordFile == "/etc/np6-sync/pw")
        #expect(configuration.database.leaseSeconds == 45)
        #expect(configuration.database.location == "postgresql://np6-sync@db.example.com:6432/np6_stops")
        let defaults = try SyncConfiguration.parse(
            #"{"database": {"url": "postgres://u@[::1]/d"}}"#, environment: [:]
        ).database
        #expect(defaults.url == PostgresURL(user: "u", host: "::1", port: 5432, database: "d", sslMode: .prefer))
        #expect(defaults.leaseSeconds == 30)
        #expect(defaults.location == "postgresql://u@[::1]:5432/d")
        #expect(try SyncConfiguration.parse("{}", environment: [:]).database.url == nil)
    }

    @Test(arguments: [
        "postgresql://np6:\("pg-Pa55-7f3e91c0")@db/np6", "postgresql://np6@db/np6?password=pg-Pa55-7f3e91c0",
    ])
    func aPasswordInTheURLIsRefusedWithoutBeingEchoed(url: String) throws {
        let error = try #require(throws: ConfigurationError.self) {
            try SyncConfiguration.parse(#"{"database": {"url": "\#(url)"}}"#, environment: [:])
        }
        #expect(error.description.hasPrefix("database.url: must not contain a password"))
        #expect(error.description.contains("database.passwordFile"))
        #expect(!error.description.contains(password))
    }

    @Test func badURLsAndValuesNameTheirKey() throws {
        let cases: [(String, String)] = [
            (#"{"url": "mysql://u@h/d"}"#, "database.url: expected a postgresql:// URL"),
            (#"{"url": "postgresql://h/d"}"#, "database.url: must name the role"),
            (#"{"url": "postgresql://u@h"}"#, "database.url: must name the database"),
            (#"{"url": "postgresql://u@h:99999/d"}"#, "database.url: has an invalid port"),
            (#"{"url": "postgresql://u@h/d?sslmode=allow"}"#, "database.url: unknown sslmode \"allow\""),
            (#"{"url": "postgresql://u@h/d?connect_timeout=3"}"#, "database.url: unknown parameter"),
            (
                #"{"path": "a.sqlite", "url": "postgresql://u@h/d"}"#,
                "database.url: database.path and database.url are both set"
            ),
            (#"{"passwordFile": "pw"}"#, "database.passwordFile: is for PostgreSQL; set database.url too"),
            (#"{"url": "postgresql://u@h/d", "leaseSeconds": 1}"#, "database.leaseSeconds: must be at least 5"),
        ]
        for (database, expected) in cases {
            let error = try #require(throws: ConfigurationError.self) {
                try SyncConfiguration.parse(#"{"database": \#(database)}"#, environment: [:])
            }
            #expect(error.description.hasPrefix(expected), "\(database): \(error)")
        }
    }

    @Test func nullURLAndPasswordFileMeanUnset() throws {
        // As config.example.json shows them beside database.path.
        let database = try SyncConfiguration.parse(
            #"{"database": {"path": "/tmp/x.sqlite", "url": null, "passwordFile": null, "leaseSeconds": 30}}"#,
            environment: [:]
        ).database
        #expect(database.path == "/tmp/x.sqlite")
        #expect(database.url == nil)
        #expect(database.passwordFile == nil)
        // A null path is not unset: it stays a type error.
        #expect(
            try issues(#"{"database": {"path": null}}"#).contains { $0.hasPrefix("database.path: expected a string") })
        // A password file with a null URL is still one without PostgreSQL.
        #expect(
            try issues(#"{"database": {"url": null, "passwordFile": "pw"}}"#)
                == ["database.passwordFile: is for PostgreSQL; set database.url too (a SQLite file has no password)"])
    }

    @Test func passwordComesFromTheFileThenTheVariableThenTheCredential() throws {
        try withDirectory { directory in
            try "\(password)\n".write(toFile: directory + "/pw", atomically: false, encoding: .utf8)
            try "from-credential".write(
                toFile: directory + "/np6-database-password", atomically: false, encoding: .utf8)
            let url = PostgresURL(user: "u", host: "h", database: "d")
            let all = ["NP6_DATABASE_PASSWORD": "from-variable", "CREDENTIALS_DIRECTORY": directory]
            var database = DatabaseConfiguration(path: "x", url: url, passwordFile: directory + "/pw")
            #expect(try database.resolvePassword(environment: all)?.unredactedValue == password)
            database.passwordFile = nil
            #expect(try database.resolvePassword(environment: all)?.unredactedValue == "from-variable")
            #expect(
                try database.resolvePassword(environment: ["CREDENTIALS_DIRECTORY": directory])?.unredactedValue
                    == "from-credential")
            #expect(try database.resolvePassword(environment: [:]) == nil, "no source: no password")
            #expect(try database.resolvePassword(environment: ["CREDENTIALS_DIRECTORY": "/nonexistent"]) == nil)
        }
    }

    @Test func aBadPasswordSourceIsAnErrorThatDoesNotShowIt() throws {
        try withDirectory { directory in
            try "\(password)\nsecond line\n".write(toFile: directory + "/two", atomically: false, encoding: .utf8)
            try "  \n".write(toFile: directory + "/blank", atomically: false, encoding: .utf8)
            let url = PostgresURL(user: "u", host: "h", database: "d")
            let cases: [(String?, [String: String], String)] = [
                (
                    directory + "/two", [:],
                    "database.passwordFile: \(directory)/two must hold the database password alone"
                ),
                (directory + "/blank", [:], "database.passwordFile: \(directory)/blank is empty"),
                (directory + "/missing", [:], "database.passwordFile: cannot read \(directory)/missing"),
                (nil, ["NP6_DATABASE_PASSWORD": ""], "NP6_DATABASE_PASSWORD: the variable is empty"),
            ]
            for (file, environment, expected) in cases {
                let database = DatabaseConfiguration(path: "x", url: url, passwordFile: file)
                let error = try #require(throws: ConfigurationError.self) {
                    try database.resolvePassword(environment: environment)
                }
                #expect(error.description.hasPrefix(expected), "\(error)")
                #expect(!error.description.contains(password))
            }
            // A configuration that names PostgreSQL has its password checked with the other files.
            let configuration = try SyncConfiguration.parse(
                #"{"database": {"url": "postgresql://u@h/d", "passwordFile": "\#(directory)/two"}}"#, environment: [:])
            let error = try #require(throws: ConfigurationError.self) {
                try configuration.checkReferencedFiles(environment: ["NP6_API_KEY": "k"])
            }
            #expect(error.description.contains("database.passwordFile"))
        }
    }

    private func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("np6-sync-db-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }
}
