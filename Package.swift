// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// The commit `np6-sync --version` names: scripts/build-deb sets NP6_SYNC_COMMIT (a hex commit id,
// "-dirty" when the tree had changes); any other build says "unknown". Only the NP6BuildInfo C
// target sees it, so a new commit recompiles one C file, not the package.
let buildCommit =
    Context.environment["NP6_SYNC_COMMIT"].flatMap { commit in
        !commit.isEmpty && commit.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } ? commit : nil
    } ?? "unknown"

let package = Package(
    name: "np6-sync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "np6-sync", targets: ["np6-sync"]),
        .library(name: "NP6Sync", targets: ["NP6Sync"]),
        .library(name: "SQLiteStore", targets: ["SQLiteStore"]),
        .library(name: "PostgresStore", targets: ["PostgresStore"]),
        .library(name: "NP6Fake", targets: ["NP6Fake"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // Up to the next minor only: PostgresStore imports its underscored `_ConnectionPoolModule`
        // (see the PostgresStore target), which a minor release may change.
        .package(url: "https://github.com/vapor/postgres-nio", .upToNextMinor(from: "1.33.2")),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The NP6 model and the streaming JSON code: stop events, contact references, timestamps,
        // the array splitter, scanner and decoder. No dependencies: the client, the store and the
        // fuzzers build on it.
        .target(name: "NP6Model", swiftSettings: swiftSettings),
        // The HTTP client for the stop-events endpoint.
        .target(
            name: "NP6Client",
            dependencies: [
                "NP6Model",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store protocol (`EventStore`) and the values that cross it. No database code here.
        .target(name: "SyncStore", dependencies: ["NP6Model"], swiftSettings: swiftSettings),
        // The SQLite implementation of the store: schema, migrations, every SQL statement.
        .target(
            name: "SQLiteStore",
            dependencies: [
                "NP6Model",
                "SyncStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL implementation of the store: the same public schema as SQLite, its
        // migrations and every SQL statement, over PostgresNIO's connection pool.
        .target(
            name: "PostgresStore",
            dependencies: [
                "NP6Model",
                "SyncStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // `ConnectionPoolError`, and only it: when the pool's connection attempts keep
                // failing (a lost server), `PostgresClient` fails queries with the pool's
                // `connectionCreationCircuitBreakerTripped` as it is (PostgresNIO 1.33 maps only
                // `poolShutdown` and `requestCancelled` to a public `PSQLError`), so no public
                // type names it. If the module changes, this stops compiling (not a silent
                // change), and `PostgresErrorMappingTests` checks that the error still reads as
                // `unreachable`, which the daemon backs off on. Pinned to the minor version above.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The configuration file: keys, defaults, validation with key paths, secrets, contact lists.
        // Only NP6Model below it, so the config fuzzer builds it as it is.
        .target(
            name: "Config",
            dependencies: ["NP6Model"],
            swiftSettings: swiftSettings
        ),
        // The sinks (jsonl, webhook, command) and their durable, at-least-once delivery loops.
        .target(
            name: "Sinks",
            dependencies: [
                "NP6Model",
                "SyncStore",
                "Config",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                // `FilePath`, for a command given by its path.
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // The sync engine: windows and watermarks, polling, scheduling, rate limits, the daemon,
        // metrics, systemd. It sees the store only through `EventStore`.
        .target(
            name: "NP6Sync",
            dependencies: [
                "NP6Model",
                "NP6Client",
                "SyncStore",
                "Config",
                "Sinks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // `np6-sync demo`: the fake API, a real sync, a real SQLite file.
        .target(
            name: "NP6Demo",
            dependencies: [
                "NP6Model", "NP6Client", "SyncStore", "SQLiteStore", "Config", "NP6Sync", "NP6Fake",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A fake NP6 API server for tests, the demo and benchmarks. Independent of the client on
        // purpose: it is a second reading of the API's documentation (it takes only the percent
        // decoder from NP6Model, not the model).
        .target(
            name: "NP6Fake",
            dependencies: [
                "NP6Model",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The commit the binary was built from, for `np6-sync --version` (see `buildCommit` above).
        .target(name: "NP6BuildInfo", cSettings: [.define("NP6_SYNC_COMMIT", to: "\"\(buildCommit)\"")]),
        // The CLI: parses arguments, loads the configuration, opens the store, runs the engine.
        .executableTarget(
            name: "np6-sync",
            dependencies: [
                "NP6Model",
                "NP6Client",
                "SyncStore",
                "SQLiteStore",
                "PostgresStore",
                "Config",
                "Sinks",
                "NP6Sync",
                "NP6Demo",
                "NP6Fake",
                "NP6BuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "NP6ModelTests", dependencies: ["NP6Model"], swiftSettings: swiftSettings),
        .testTarget(
            name: "NP6ClientTests",
            dependencies: [
                "NP6Client", "NP6Model", "NP6Fake", "TestClocks", .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // A clock that tests move by hand, for the code that takes a `Clock`.
        .target(name: "TestClocks", path: "Tests/TestClocks", swiftSettings: swiftSettings),
        // The deterministic simulator (docs/RELIABILITY.md, "The simulator"): the real engine in a
        // world drawn from a seed, behind the API seam (`StopEventsAPI`) and the store's roles.
        .target(
            name: "Simulation",
            dependencies: [
                "NP6Sync", "NP6Client", "NP6Model", "SyncStore", "SQLiteStore", "Config", "Sinks",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/Simulation",
            swiftSettings: swiftSettings),
        // Runs seeds of the simulator; `scripts/simulate` chooses which (SIMULATE_SEEDS, SIMULATE_FROM).
        .testTarget(name: "SimulationTests", dependencies: ["Simulation"], swiftSettings: swiftSettings),
        // What the tests' webhook receivers share: a Hummingbird router served on loopback.
        .target(
            name: "HTTPTestSupport",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/HTTPTestSupport",
            swiftSettings: swiftSettings),
        // What the store test suites share: temporary directories, stop events, the PostgreSQL test
        // server, and the reads only tests make (every event id, the quarantine).
        .target(
            name: "StoreTestSupport",
            dependencies: [
                "NP6Model", "SyncStore", "SQLiteStore", "PostgresStore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/StoreTestSupport",
            swiftSettings: swiftSettings),
        // The store contract: one suite that every `EventStore` implementation must pass.
        .testTarget(
            name: "SyncStoreTests",
            dependencies: [
                "SyncStore", "SQLiteStore", "PostgresStore", "NP6Model", "StoreTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                // `PostgresErrorMappingTests`: the pool's error PostgresStore maps (see there).
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLiteStoreTests",
            dependencies: [
                "SQLiteStore", "SyncStore", "NP6Model", "TestClocks", "StoreTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConfigTests",
            dependencies: ["Config", "NP6Model"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NP6SyncTests",
            dependencies: [
                "NP6Sync", "NP6Fake", "NP6Client", "NP6Model", "SyncStore", "SQLiteStore", "Config", "Sinks",
                "TestClocks", "PostgresStore", "StoreTestSupport", "HTTPTestSupport",
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                // The metrics endpoint, the sd_notify socket and the sinks' receivers: real peers.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NP6FakeTests",
            dependencies: [
                "NP6Fake", "TestClocks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runs the built binary; depending on it makes `swift test` build it first.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "np6-sync", "StoreTestSupport", "HTTPTestSupport", "PostgresStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The webhook receiver of the multi-instance test.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
