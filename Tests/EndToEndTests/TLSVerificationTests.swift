import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TLS certificates are always verified: `sync` against a server with a self-signed certificate
/// fails that contact with a certificate error, and np6-sync has no option to skip the check.
/// `openssl s_server` on loopback plays the server.
@Suite(
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs /usr/bin/openssl"),
    .timeLimit(.minutes(10)))
struct TLSVerificationTests {
    func openssl(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func selfSignedServerIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let key = directory.path("key.pem")
        let certificate = directory.path("cert.pem")
        let generate = try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        // Poll rather than waitUntilExit(), which needs a run loop this task does not have.
        while generate.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        try #require(generate.terminationStatus == 0)
        let port = Int.random(in: 20_000..<40_000)
        let server = try openssl([
            "s_server", "-accept", "127.0.0.1:\(port)", "-key", key, "-cert", certificate, "-www", "-quiet",
        ])
        // SIGKILL: `openssl s_server` outlived SIGTERM here, leaving servers behind after the tests.
        defer { kill(server.processIdentifier, SIGKILL) }
        try #require(try await eventually { acceptsConnections(port: port) }, "openssl s_server listens")

        let tlsKey = "tls-key-6f2e0a9d4c"
        let config = directory.file(
            "config.json",
            contents: """
                {"api": {"baseURL": "https://127.0.0.1:\(port)", "timeoutSeconds": 10},
                 "database": {"path": "\(directory.path("tls.sqlite"))"}, "contacts": [{"id": "000AAAAA"}]}
                """)
        let result = try await Binary.run(["sync", "--config", config], environment: ["NP6_API_KEY": tlsKey])
        #expect(result.status == 1)
        #expect(result.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "stderr: \(result.stderr)")
        #expect(!result.stderr.contains(tlsKey) && !result.stdout.contains(tlsKey))
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func acceptsConnections(port: Int) -> Bool {
    #if canImport(Darwin)
    let descriptor = socket(AF_INET, SOCK_STREAM, 0)
    #else
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #endif
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return result == 0
}
