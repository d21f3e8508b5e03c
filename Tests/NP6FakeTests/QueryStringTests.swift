import Testing

@testable import NP6Fake

@Suite("QueryStringTests")
struct QueryStringTests {
    @Test func decodesPercentEscapesAndPlusAsSpace() throws {
        let pairs = try QueryString.decode("unicity=zo%C3%AB.dupont%2Bnews%40exemple.fr&x=a+b&flag&sort=asc")
        #expect(pairs.map(\.name) == ["unicity", "x", "flag", "sort"])
        #expect(pairs.map(\.value) == ["zoë.dupont+news@exemple.fr", "a b", "", "asc"])
    }

    @Test func rejectsBadEscapesAndInvalidUTF8() {
        #expect(throws: QueryString.DecodingError.self) { try QueryString.decode("id=%G1") }
        #expect(throws: QueryString.DecodingError.self) { try QueryString.decode("id=%C3") }
        #expect(throws: QueryString.DecodingError.self) { try QueryString.decode("id=%4") }
    }
}
