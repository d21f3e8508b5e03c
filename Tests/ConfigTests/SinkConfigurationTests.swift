import Foundation
import NP6Model
import Testing

@testable import Config

/// The `sinks` section: names, types and their keys, signatures and their secrets.
@Suite struct SinkConfigurationTests {
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

    @Test func sinkTypeAndItsKeysAreValidated() throws {
        let json = """
            {"sinks": [
              {"name": "no-type", "path": "-"},
              {"name": "kafka", "type": "kafka"},
              {"name": "j", "type": "jsonl", "path": "-", "url": "https://x.example"},
              {"name": "j2", "type": "jsonl"},
              {"name": "h", "type": "webhook", "secret": "\(distinctiveKey)"},
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
        #expect(!found.joined().contains(distinctiveKey))
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
               "env": {"1ST": "a", "A-B": "b", "NP6_SYNC_SINK": "x", "TOKEN": 3, "OK": "\(distinctiveKey)"}},
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
        #expect(!found.joined().contains(distinctiveKey))
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
        try write("\(distinctiveKey)\n", to: legacy)
        try write("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", to: standard)
        func sink(_ file: String, _ signature: WebhookSinkConfiguration.Signature) -> SinkConfiguration {
            SinkConfiguration(
                name: "crm",
                kind: .webhook(
                    WebhookSinkConfiguration(url: "https://x.example", secretFile: file, signature: signature)))
        }
        #expect(try sink(standard, .standard).readSecret()?.standardWebhooksKey?.count == 24)
        #expect(try sink(legacy, .np6sync).readSecret()?.unredactedValue == distinctiveKey)
        let error = try #require(throws: ConfigurationError.self) { try sink(legacy, .standard).readSecret() }
        #expect(error.issues.first?.path == #"sinks["crm"].secretFile"#)
        #expect(error.description.contains("does not hold a Standard Webhooks secret"))
        #expect(!error.description.contains(distinctiveKey))
    }

    @Test func webhookHeaderValuesAreNotPrinted() throws {
        let json = """
            {"sinks": [{"name": "crm", "type": "webhook", "url": "https://crm.example.com/h",
                        "headers": {"Authorization": "Bearer \(distinctiveKey)"}}]}
            """
        let configuration = try SyncConfiguration.parse(json, environment: [:])
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), dumped] {
            #expect(text.contains("Authorization: <redacted>"))
            #expect(!text.contains(distinctiveKey))
        }
    }

    @Test func webhookSecretIsReadFromItsFile() throws {
        try withTemporaryDirectory { directory in
            try write("hmac-\(distinctiveKey)\n", to: directory + "/secret")
            let json = """
                {"sinks": [
                  {"name": "crm", "type": "webhook", "url": "https://x.example/h", "secretFile": "secret"},
                  {"name": "bare", "type": "webhook", "url": "https://x.example/h"},
                  {"name": "lost", "type": "webhook", "url": "https://x.example/h", "secretFile": "missing"}
                ]}
                """
            let configuration = try SyncConfiguration.parse(json, baseDirectory: directory, environment: [:])
            #expect(try configuration.sinks[0].readSecret()?.unredactedValue == "hmac-\(distinctiveKey)")
            #expect(try configuration.sinks[1].readSecret() == nil)
            let error = try #require(throws: ConfigurationError.self) { try configuration.sinks[2].readSecret() }
            #expect(
                error.description
                    == #"sinks["lost"].secretFile: cannot read \#(directory)/missing: No such file or directory"#
            )
        }
    }
}
