import Foundation
import Testing

@testable import Config
@testable import NP6Sync

/// What README.md and docs/ name exists: every config key path, every metric, every target of
/// Package.swift and every script. A rename that forgets a page fails here.
@Suite struct DocumentationTests {
    static let repository = OperationsKitTests.repository

    static func text(_ path: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8)
    }

    /// README.md and every page in docs/, by path.
    static func pages() throws -> [(path: String, text: String)] {
        let docs = try FileManager.default.contentsOfDirectory(
            atPath: repository.appendingPathComponent("docs").path
        ).filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return try (["README.md"] + docs).map { ($0, try text($0)) }
    }

    /// The key paths of a config section, as the docs write them (`api.baseURL`).
    static let sectionKeyPaths: Set<String> = {
        let sections: [(String, [String])] = [
            ("api", APIConfiguration.keys), ("database", DatabaseConfiguration.keys),
            ("sync", SyncWindowConfiguration.keys), ("schedule", ScheduleConfiguration.keys),
            ("logging", LoggingConfiguration.keys), ("metrics", MetricsConfiguration.keys),
        ]
        return Set(sections.flatMap { section, keys in keys.map { "\(section).\($0)" } })
    }()

    /// The keys a sink may have, of any type.
    static let sinkKeys = Set(SinkConfiguration.commonKeys + SinkConfiguration.keysByType.flatMap(\.keys))

    /// `api.baseURL`, `schedule.intervalSeconds`…: a section name and a key, not part of a longer
    /// word or path (`np6-sync.service`, `api.base_url` are not config keys).
    static func sectionKeyPaths(in text: String) -> Set<String> {
        let pattern = /(?:^|[^\w.\/-])((?:api|database|sync|schedule|logging|metrics)\.[A-Za-z][A-Za-z0-9]*)(?![\w-])/
        return Set(text.matches(of: pattern.anchorsMatchLineEndings()).map { String($0.output.1) })
    }

    /// Whether `text` has `word` on its own: not inside a longer name (`NP6Sync` in `NP6SyncTests`).
    static func names(_ word: String, in text: String) -> Bool {
        func isNamePart(_ character: Character?) -> Bool {
            character.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } ?? false
        }
        return text.ranges(of: word).contains { range in
            !isNamePart(range.lowerBound > text.startIndex ? text[text.index(before: range.lowerBound)] : nil)
                && !isNamePart(range.upperBound < text.endIndex ? text[range.upperBound] : nil)
        }
    }

    /// The key right after `sinks[…].` in `sinks[1].url`, `sinks["NAME"].secretFile`, `sinks[N].env.NAME`.
    static func sinkKeys(in text: String) -> Set<String> {
        Set(text.matches(of: /sinks\[[^\]]*\]\.([A-Za-z][A-Za-z0-9]*)/).map { String($0.output.1) })
    }

    @Test func keyPathsAreFoundInText() {
        let text =
            "`api.baseURL`, np6-sync.service, api.base_url, (schedule.intervalSeconds), sinks[1].url, sinks[N].env.X"
        #expect(Self.sectionKeyPaths(in: text) == ["api.baseURL", "schedule.intervalSeconds"])
        #expect(Self.sinkKeys(in: text) == ["url", "env"])
        #expect(Self.names("NP6Sync", in: "`NP6Sync`, NP6SyncTests") && !Self.names("NP6Sync", in: "NP6SyncTests"))
    }

    @Test func everyConfigKeyTheDocsNameExists() throws {
        var unknown: [String] = []
        for (path, text) in try Self.pages() {
            unknown += Self.sectionKeyPaths(in: text).subtracting(Self.sectionKeyPaths).sorted().map {
                "\(path): \($0)"
            }
            unknown += Self.sinkKeys(in: text).subtracting(Self.sinkKeys).sorted().map { "\(path): sinks[].\($0)" }
        }
        #expect(unknown.isEmpty, "named but not a config key: \(unknown)")
        // The check sees the keys: the configuration reference names every one of them.
        let reference = try Self.text("docs/CONFIGURATION.md")
        #expect(Self.sectionKeyPaths(in: reference) == Self.sectionKeyPaths)
    }

    @Test func everyMetricTheDocsNameIsDeclared() throws {
        let declared = Set(SyncMetrics.allDescriptors.map(\.name))
        // A histogram's series carry these suffixes.
        let series = declared.union(
            declared.flatMap { name in ["_bucket", "_count", "_sum"].map { name + $0 } })
        var unknown: [String] = []
        for (path, text) in try Self.pages() {
            unknown += OperationsKitTests.metricNames(in: text).subtracting(series).sorted().map { "\(path): \($0)" }
        }
        #expect(unknown.isEmpty, "named but not declared in SyncMetrics+Descriptors.swift: \(unknown)")
        #expect(declared.count == SyncMetrics.allDescriptors.count, "no name declared twice")
    }

    /// Every target of Package.swift, the test-support ones included, and every script is named
    /// where a newcomer looks: README.md (its layout or its checks) or docs/ARCHITECTURE.md.
    @Test func everyTargetAndScriptIsNamedInTheReadmeOrTheArchitecture() throws {
        let package = try Self.text("Package.swift")
        let targets = package.matches(of: /\.(?:target|testTarget|executableTarget)\(\s*name:\s*"([^"]+)"/)
            .map { String($0.output.1) }
        #expect(targets.count >= 20, "Package.swift's targets are found")
        let named = try Self.text("README.md") + "\n" + Self.text("docs/ARCHITECTURE.md")
        let missingTargets = targets.filter { !Self.names($0, in: named) }
        #expect(missingTargets.isEmpty, "targets named in neither: \(missingTargets)")
        let scripts = try FileManager.default.contentsOfDirectory(
            atPath: Self.repository.appendingPathComponent("scripts").path
        ).filter { !$0.hasPrefix(".") }.sorted()
        #expect(!scripts.isEmpty)
        let missingScripts = scripts.filter { !named.contains("scripts/\($0)") }
        #expect(missingScripts.isEmpty, "scripts named in neither: \(missingScripts)")
    }
}
