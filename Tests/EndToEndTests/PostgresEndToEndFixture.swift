import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import PostgresStore
import StoreTestSupport
import Testing

/// What a PostgreSQL end-to-end test runs against: the fake API as a process, a database of its
/// own on the test server (`NP6_TEST_POSTGRES_URL`, see `scripts/test-postgres`), dropped after
/// the test, and a directory for the config and the files it names.
struct PostgresEndToEndFixture {
    let server: PostgresTestServer
    let endpoint: PostgresEventStore.Endpoint
    /// The test server's password (the tests use password authentication).
    let password: String
    /// The fake API's `http://127.0.0.1:PORT`.
    let baseURL: String
    let directory: TemporaryDirectory

    /// Runs `body` with the fake API (`np6-sync fake-api` with `fakeArguments`, accepting
    /// `apiKey`) and a new database, both gone after it.
    static func run<T>(
        fakeArguments: [String], apiKey: String, _ body: (PostgresEndToEndFixture) async throws -> T
    ) async throws -> T {
        let server = try PostgresTestServer.configured()
        let password = try #require(server.password, "the test server uses password authentication")
        return try await withFakeAPIProcess(arguments: fakeArguments, apiKey: apiKey) { baseURL in
            try await server.withTemporaryDatabase { endpoint in
                try await body(
                    PostgresEndToEndFixture(
                        server: server, endpoint: endpoint, password: password, baseURL: baseURL,
                        directory: try TemporaryDirectory()))
            }
        }
    }

    /// The config's `database` object: its URL, with the password in a file when `passwordFile`
    /// (else the daemon reads `NP6_DATABASE_PASSWORD`), and `extra` fields (`"leaseSeconds": 5`).
    func databaseObject(passwordFile: Bool, extra: String = "") -> String {
        let file = passwordFile ? directory.file("db-password", contents: password + "\n") : nil
        return Self.databaseObject(endpoint, passwordFile: file, extra: extra)
    }

    /// `database.url` and `database.passwordFile` for `endpoint`, as a config file's `database` object.
    static func databaseObject(
        _ endpoint: PostgresEventStore.Endpoint, passwordFile: String?, extra: String = ""
    ) -> String {
        let url = "postgresql://\(endpoint.username)@\(endpoint.host):\(endpoint.port)/\(endpoint.database)"
        let file = passwordFile.map { #", "passwordFile": "\#($0)""# } ?? ""
        return #"{"url": "\#(url)?sslmode=disable"\#(file)\#(extra.isEmpty ? "" : ", " + extra)}"#
    }

    /// The fake's contacts, each `["id": …, "unicity": …, "hash": …]`.
    func fakeContacts() async throws -> [[String: String]] {
        try #require(
            try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/contacts"))
                as? [[String: String]])
    }

    /// The config's `contacts` list: every contact of the fake, named by `kind`.
    func contactsList(by kind: String) async throws -> String {
        let contacts = try await fakeContacts()
        return "[" + contacts.map { #"{"\#(kind)": "\#($0[kind]!)"}"# }.joined(separator: ", ") + "]"
    }

    /// Every event the fake serves now, by id.
    func fakeEvents() async throws -> [String: NSDictionary] {
        let published = try #require(
            try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/events")) as? [[String: Any]])
        var events: [String: NSDictionary] = [:]
        for entry in published {
            let event = try #require(entry["event"] as? [String: Any])
            events[try #require(event["id"] as? String)] = event as NSDictionary
        }
        return events
    }

    /// `GET /_fake/stats`.
    func fakeStats() async throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: try await httpGet("\(baseURL)/_fake/stats")) as? [String: Any])
    }

    /// Changes the fake's knobs (`POST /_fake/knobs`), e.g. `{"liveEventsPerSecond": 0}`.
    func setFakeKnobs(_ json: String) async throws {
        var request = HTTPClientRequest(url: "\(baseURL)/_fake/knobs")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        #expect(response.status == .ok, "POST /_fake/knobs \(json)")
    }

    /// Expects the database's `events` to equal `expected` exactly: the same ids, none twice,
    /// each payload as the API sent it.
    func expectStoredEvents(equal expected: [String: NSDictionary]) async throws {
        let rows = try await query("SELECT id, payload FROM events ORDER BY seq") {
            try $0.decode((String, String).self)
        }
        #expect(rows.count == expected.count, "none stored twice, none missing")
        #expect(Set(rows.map(\.0)) == Set(expected.keys))
        for (id, payload) in rows {
            let stored = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? NSDictionary
            #expect(stored == expected[id], "event \(id) stored as the API sent it")
        }
    }

    /// Runs `sql` on the test's database and decodes each row.
    func query<T>(_ sql: PostgresQuery, _ decode: (PostgresRow) throws -> T) async throws -> [T] {
        let logger = Logger(label: "np6-sync-tests.postgres")
        let connection = try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: endpoint.host, port: endpoint.port, username: endpoint.username, password: password,
                database: endpoint.database, tls: .disable),
            id: 1, logger: logger)
        do {
            var results: [T] = []
            for try await row in try await connection.query(sql, logger: logger) { results.append(try decode(row)) }
            try await connection.close()
            return results
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
