import Foundation
import NP6Model
import Testing

@testable import Config

@Suite struct ContactListTests {
    @Test func linesWithCommentsBlankLinesAndCRLFAreRead() throws {
        let text =
            "# exported 2024-05-02\r\n\r\n  unicity:someone@example.com  \r\nid : 000R4M0T\r\n   # indented comment\nhash:0123456789abcdef0123456789abcdef"
        let list = try ContactList.parse(text)
        #expect(
            list.contacts == [
                ContactReference(kind: .unicity, value: "someone@example.com"),
                ContactReference(kind: .id, value: "000R4M0T"),
                ContactReference(kind: .hash, value: "0123456789abcdef0123456789abcdef"),
            ]
        )
        #expect(list.duplicateCount == 0)
    }

    @Test func onlyTheFirstColonSeparates() throws {
        let list = try ContactList.parse("unicity:a:b#c@example.com\n")
        #expect(list.contacts == [ContactReference(kind: .unicity, value: "a:b#c@example.com")])
    }

    @Test func everyBadLineIsReportedWithItsNumber() throws {
        let text = """
            id:1
            someone@example.com
            unicity:

            # fine
            id:2
            email:someone@example.com
            """
        let error = try #require(throws: ConfigurationError.self) { try ContactList.parse(text) }
        #expect(
            error.issues.map(\.description) == [
                #"line 2: expected KIND:VALUE such as unicity:someone@example.com, got "someone@example.com""#,
                #"line 3: no value after "unicity:""#,
                #"line 7: unknown kind "email"; expected id, unicity or hash"#,
            ]
        )
    }

    @Test func invalidUTF8IsReportedByLine() throws {
        let bytes = Array("id:1\nid:".utf8) + [0xFF, 0xFE] + Array("\n".utf8)
        let error = try #require(throws: ConfigurationError.self) { try ContactList.parse(bytes) }
        #expect(error.description == "line 2: not valid UTF-8 text")
    }

    @Test func duplicatesAreDroppedAndCounted() throws {
        let list = try ContactList.parse("id:1\nid:2\nid:1\n id:1 \n")
        #expect(list.contacts.map(\.description) == ["id:1", "id:2"])
        #expect(list.duplicateCount == 2)
    }

    @Test func jsonArrayIsRead() throws {
        let list = try ContactList.parse(
            "\u{FEFF}\n [{\"id\": \"000R4M0T\"}, {\"unicity\": \"a@example.com\"}, {\"id\": \"000R4M0T\"}]"
        )
        #expect(list.contacts.map(\.description) == ["id:000R4M0T", "unicity:a@example.com"])
        #expect(list.duplicateCount == 1)
    }

    @Test func badJSONElementsAreReportedByIndex() throws {
        let json = #"[{"id": "1"}, {"email": "x@example.com"}, {"id": "2", "hash": "3"}, "id:4", {"unicity": ""}]"#
        let error = try #require(throws: ConfigurationError.self) { try ContactList.parse(json) }
        #expect(
            error.issues.map(\.path) == ["[1].email", "[2]", "[3]", "[4].unicity"]
        )
        let object = try #require(throws: ConfigurationError.self) { try ContactList.parse(#"{"contacts": []}"#) }
        #expect(object.issues.map(\.path) == ["(top level)"])
    }

    @Test func jsonSyntaxErrorGivesLineAndColumn() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ContactList.parse("[\n  {\"id\": \"1\"},\n  {\"id\" \"2\"}\n]", source: "contacts.json")
        }
        #expect(error.issues.count == 1)
        #expect(error.issues[0].path == "contacts.json")
        #expect(error.issues[0].message.hasPrefix("line 3, column "))
    }

    @Test func fileIssuesNameTheFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "np6-contacts-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/contacts.txt"
        try "id:1\nphone:+33600000000\n".write(toFile: path, atomically: false, encoding: .utf8)
        let error = try #require(throws: ConfigurationError.self) { try ContactList.load(path: path) }
        #expect(error.description == #"\#(path): line 2: unknown kind "phone"; expected id, unicity or hash"#)

        let missing = try #require(throws: ConfigurationError.self) { try ContactList.load(path: directory + "/none") }
        #expect(missing.description == "\(directory)/none: cannot read the contacts: No such file or directory")

        try "[{\"hash\": 7}]".write(toFile: path, atomically: false, encoding: .utf8)
        let element = try #require(throws: ConfigurationError.self) { try ContactList.load(path: path) }
        #expect(element.description == "\(path): [0].hash: expected a string, found a number")
    }

    @Test func emptyInputIsAnEmptyList() throws {
        #expect(try ContactList.parse("").contacts.isEmpty)
        #expect(try ContactList.parse("# nothing yet\n\n").contacts.isEmpty)
        #expect(try ContactList.parse("[]").contacts.isEmpty)
    }
}
