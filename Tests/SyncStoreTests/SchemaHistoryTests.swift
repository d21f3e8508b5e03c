import Foundation
import SyncStore
import Testing

/// One schema history for every store: the same version after migrating, and the version table
/// of docs/DATABASE.md as the code has it.
@Suite struct SchemaHistoryTests {
    @Test func everyStoreReportsTheSameVersionAfterMigrating() async throws {
        var versions: [StoreKind: Int] = [:]
        for kind in StoreKind.allCases {
            versions[kind] = try await kind.withStore { database in try await database.schemaVersion() }
        }
        #expect(Set(versions.values) == [SchemaStep.current.version], "\(versions)")
    }

    @Test func stepsAreNumberedOneByOne() {
        #expect(SchemaStep.allCases.map(\.version) == Array(1...SchemaStep.allCases.count))
    }

    @Test func databaseDocumentListsEveryStep() throws {
        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/DATABASE.md")
        let text = try String(contentsOf: document, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "### Schema versions").dropFirst().first)
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.first(where: \.isNumber) != nil }
            .compactMap { line -> (Int, String)? in
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                guard cells.count >= 2, let version = Int(cells[0]) else { return nil }
                return (version, cells[1])
            }
        #expect(rows.map(\.0) == SchemaStep.allCases.map(\.version))
        #expect(rows.map(\.1) == SchemaStep.allCases.map(\.summary))
        #expect(text.contains("is the last step applied (\(SchemaStep.current.version) today)"))
    }
}
