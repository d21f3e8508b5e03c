import Testing

@testable import NP6Model

struct JSONValueTests {
    // MARK: - Parsing and round trips

    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("30", .number("30")),
        ("-1.5e3", .number("-1.5e3")),
        ("0.25E-2", .number("0.25E-2")),
        (#""hé\n😀""#, .string("hé\n😀")),
        ("[]", .array([])),
        ("{}", .object([])),
        (#"[1,"a",null,[true]]"#, .array([.number("1"), .string("a"), .null, .array([.bool(true)])])),
        (
            #"{"a":1,"b":{"c":[]}}"#,
            .object([
                JSONMember(key: "a", value: .number("1")),
                JSONMember(key: "b", value: .object([JSONMember(key: "c", value: .array([]))])),
            ])
        ),
    ])
    func eachKindRoundTrips(text: String, value: JSONValue) throws {
        #expect(try JSONValue.parse(text) == value)
        #expect(value.jsonText == text)
        #expect(try JSONValue.parse(value.jsonText) == value)
        #expect(try JSONValue.parse(Array(text.utf8)) == value)
    }

    @Test func stringEscapesRoundTrip() throws {
        let text = #""\"\\\/\b\f\n\r\t\u0001\u001f\u00e9\ud83d\ude00 é""#
        let value = try JSONValue.parse(text)
        #expect(value == .string("\"\\/\u{8}\u{C}\n\r\t\u{1}\u{1F}é😀 é"))
        #expect(value.jsonText == #""\"\\/\u0008\u000c\n\r\t\u0001\u001fé😀 é""#)
        #expect(try JSONValue.parse(value.jsonText) == value)
    }

    @Test func whitespaceAroundTokensIsIgnored() throws {
        let value = try JSONValue.parse(" \r\n\t{ \"a\" :\t[ 1 , 2 ] ,\r\n \"b\" : null } \n")
        #expect(value.jsonText == #"{"a":[1,2],"b":null}"#)
    }

    @Test func duplicateKeysAreKeptInOrder() throws {
        let value = try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.objectMembers?.map(\.key) == ["a", "b", "a"])
        #expect(value["a"] == .number("1"))
        #expect(value.jsonText == #"{"a":1,"b":2,"a":3}"#)
    }

    @Test func nonContiguousCollectionsParse() throws {
        let bytes = Array(#"{"k":[1]}"#.utf8).lazy.map { $0 }
        #expect(try JSONValue.parse(bytes) == .object([JSONMember(key: "k", value: .array([.number("1")]))]))
    }

    @Test func largeArraysParse() throws {
        let text = "[" + (0..<50_000).map(String.init).joined(separator: ",") + "]"
        #expect(try JSONValue.parse(text).arrayValue?.count == 50_000)
    }

    // MARK: - Errors

    @Test func errorsGiveLineAndColumn() {
        let text = "{\n  \"interval\": 30\n  \"contacts\": []\n}"
        #expect(throws: JSONParseError(line: 3, column: 3, message: "expected ',' or '}'")) {
            try JSONValue.parse(text)
        }
        #expect(
            JSONParseError(line: 3, column: 14, message: "expected ',' or '}'").description
                == "line 3, column 14: expected ',' or '}'"
        )
    }

    @Test func columnsCountCharactersNotBytes() {
        #expect(throws: JSONParseError(line: 1, column: 7, message: "expected ',' or ']'")) {
            try JSONValue.parse(#"["éé" x]"#)
        }
    }

    @Test(arguments: [
        ("", 1, 1, "unexpected end of input"),
        ("   ", 1, 4, "unexpected end of input"),
        ("[1,]", 1, 4, "expected a value"),
        ("{\"a\" 1}", 1, 6, "expected ':'"),
        ("01", 1, 2, "leading zeros are not allowed"),
        ("1 2", 1, 3, "unexpected data after the value"),
        ("\"abc", 1, 1, "unterminated string"),
        ("\n\n  [\"\\q\"]", 3, 5, "invalid escape sequence"),
        ("[\"\\ud800\"]", 1, 3, "unpaired surrogate in \\u escape"),
        ("{\"a\":1,}", 1, 8, "expected a string key"),
        ("{1:2}", 1, 2, "expected a string key or '}'"),
        ("nul", 1, 1, "invalid literal"),
        ("1.", 1, 3, "expected a digit after the decimal point"),
        ("1e+", 1, 4, "expected a digit in the exponent"),
    ])
    func syntaxErrorsAreLocated(text: String, line: Int, column: Int, message: String) {
        #expect(throws: JSONParseError(line: line, column: column, message: message)) {
            try JSONValue.parse(text)
        }
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONParseError(line: 1, column: 3, message: "invalid UTF-8")) {
            try JSONValue.parse([0x5B, 0x22, 0xC0, 0xAF, 0x22, 0x5D])
        }
    }

    @Test func nestingIsLimitedWithoutCrashing() throws {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(try JSONValue.parse(deepest) != .null)
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(throws: JSONParseError(line: 1, column: 513, message: "nesting deeper than 512 levels")) {
            try JSONValue.parse(tooDeep)
        }
        #expect(throws: JSONParseError.self) { try JSONValue.parse(String(repeating: "{\"a\":[", count: 100_000)) }
    }

    // MARK: - Reading

    @Test(arguments: [
        ("30", Int64(30)),
        ("-0", 0),
        ("9223372036854775807", .max),
        ("-9223372036854775808", .min),
    ])
    func integerLiteralsHaveAnInt64Value(text: String, value: Int64) throws {
        #expect(try JSONValue.parse(text).int64Value == value)
    }

    @Test(arguments: ["9223372036854775808", "-9223372036854775809", "1.0", "1e3", "\"30\"", "null", "true"])
    func otherValuesHaveNoInt64Value(text: String) throws {
        #expect(try JSONValue.parse(text).int64Value == nil)
    }

    @Test func typeNamesReadInMessages() throws {
        let value = try JSONValue.parse(#"[{}, [], "s", 1, true, null]"#)
        #expect(
            value.arrayValue?.map(\.typeName) == ["an object", "an array", "a string", "a number", "a boolean", "null"]
        )
        #expect("expected an integer, found \(JSONValue.string("x").typeName)" == "expected an integer, found a string")
    }

    @Test func accessorsReturnNilForOtherKinds() throws {
        let value = try JSONValue.parse(#"{"s":"x","b":false,"a":[1]}"#)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["b"]?.boolValue == false)
        #expect(value["a"]?.arrayValue == [.number("1")])
        #expect(value["missing"] == nil)
        #expect(value["s"]?.boolValue == nil)
        #expect(JSONValue.null["s"] == nil)
    }
}
