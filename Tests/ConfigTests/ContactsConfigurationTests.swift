import Foundation
import NP6Model
import Testing

@testable import Config

/// The `contacts` list and `contactsFile`.
@Suite struct ContactsConfigurationTests {
    @Test(arguments: [
        (#"{}"#, "contacts[0]: expected exactly one of id, unicity or hash, found none"),
        (#"{"id": "a", "hash": "b"}"#, "contacts[0]: expected exactly one of id, unicity or hash, found id and hash"),
        (
            #"{"email": "a@example.com"}"#,
            #"contacts[0].email: unknown key; a contact is one of {"id": …}, {"unicity": …} or {"hash": …}"#
        ),
        (#"{"unicity": ""}"#, "contacts[0].unicity: must not be empty"),
        (
            #"{"unicity": " a@example.com"}"#,
            #"contacts[0].unicity: must not start or end with whitespace, got " a@example.com""#
        ),
        (#"{"id": 5}"#, "contacts[0].id: expected a string, found a number"),
        (
            #""id:000R4M0T""#,
            #"contacts[0]: expected an object such as {"unicity": "someone@example.com"}, found a string"#
        ),
    ])
    func badContactObjectIsRejected(contact: String, expected: String) throws {
        #expect(try issues(#"{"contacts": [\#(contact)]}"#) == [expected])
    }

    @Test func duplicateContactNamesBothIndexes() throws {
        let json = #"{"contacts": [{"id": "A"}, {"unicity": "x@example.com"}, {"id": "A"}]}"#
        #expect(try issues(json) == ["contacts[2]: duplicate of contacts[0] (id:A)"])
    }

    @Test func contactsFileIsMergedAfterTheInlineContacts() throws {
        try withTemporaryDirectory { directory in
            try write("id:B\nunicity:x@example.com\n", to: directory + "/contacts.txt")
            let json = #"{"contacts": [{"id": "A"}, {"unicity": "x@example.com"}], "contactsFile": "contacts.txt"}"#
            let configuration = try SyncConfiguration.parse(json, baseDirectory: directory, environment: [:])
            #expect(
                try configuration.loadContacts() == [
                    ContactReference(kind: .id, value: "A"),
                    ContactReference(kind: .unicity, value: "x@example.com"),
                    ContactReference(kind: .id, value: "B"),
                ]
            )
        }
    }
}
