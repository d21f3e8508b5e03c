import Foundation
import NP6Model
import Testing

@testable import Config

/// The `api` section and its secrets: the base URL, the key's sources, nothing secret ever printed.
@Suite struct APIConfigurationTests {
    @Test(arguments: [
        #"{"api": {"apiKey": "KEY"}}"#,
        #"{"api": {"key": "KEY"}}"#,
        #"{"api": {"api_key": "KEY"}}"#,
        #"{"apiKey": "KEY"}"#,
    ])
    func apiKeyInTheConfigFileIsRefusedWithoutEchoingIt(template: String) throws {
        let json = template.replacingOccurrences(of: "KEY", with: distinctiveKey)
        let found = try issues(json)
        #expect(found.count == 1)
        #expect(
            found[0].contains(
                "the API key is never read from the config file; use api.keyFile, NP6_API_KEY or the systemd credential np6-api-key"
            )
        )
        #expect(!found[0].contains(distinctiveKey))
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
            #"{"sinks": [{"name": "h", "type": "webhook", "url": "https://bob:\#(distinctiveKey)@crm.example.com/"}]}"#
        let found = try issues(json)
        #expect(
            found == ["sinks[0].url: must not contain a user name or password; send credentials in a header instead"]
        )
    }

    @Test func keyFileIsReadAndTrimmed() throws {
        try withTemporaryDirectory { directory in
            try write("\(distinctiveKey)\n", to: directory + "/key")
            let api = APIConfiguration(keyFile: directory + "/key")
            let key = try api.resolveKey(environment: ["NP6_API_KEY": "from-env", "CREDENTIALS_DIRECTORY": directory])
            #expect(key.unredactedValue == distinctiveKey)
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
            try write("\(distinctiveKey) extra\n", to: directory + "/two-words")
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
                    nil, ["NP6_API_KEY": "\(distinctiveKey)\nsecond line"],
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
                #expect(!error.description.contains(distinctiveKey))
            }
        }
    }

    @Test(.enabled(if: getuid() != 0, "root reads any file"))
    func unreadableKeyFileIsReported() throws {
        try withTemporaryDirectory { directory in
            try write(distinctiveKey, to: directory + "/key")
            try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: directory + "/key")
            let error = try #require(throws: ConfigurationError.self) {
                try APIConfiguration(keyFile: directory + "/key").resolveKey(environment: [:])
            }
            #expect(error.description == "api.keyFile: cannot read \(directory)/key: Permission denied")
        }
    }

    @Test func secretsPrintAsRedacted() {
        let key = APIKey(unredactedValue: distinctiveKey)
        var dumped = ""
        dump(key, to: &dumped)
        for text in [key.description, key.debugDescription, "\(key)", String(reflecting: key), dumped, "\([key])"] {
            #expect(!text.contains(distinctiveKey))
        }
        #expect("\(key)" == "<redacted>")
    }
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
