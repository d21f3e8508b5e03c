import Testing

@testable import NP6Model

struct JSONTextTests {
    @Test func quotesBackslashesAndControlCharactersAreEscaped() {
        #expect(JSONText.quoted("") == #""""#)
        #expect(JSONText.quoted("say \"hi\" \\o/") == #""say \"hi\" \\o/""#)
        #expect(JSONText.quoted("a\nb\rc\td\u{0}\u{8}\u{C}\u{1F}") == #""a\nb\rc\td\u0000\u0008\u000c\u001f""#)
        #expect(JSONText.quoted("é 😀 \u{7F}") == "\"é 😀 \u{7F}\"", "non-ASCII and DEL pass as they are")
    }

    @Test func everyScalarRoundTripsThroughTheParser() throws {
        var text = ""
        for value in Array(0...0x2FF) + [0x2028, 0xFFFF, 0x1F600, 0x10FFFF] {
            text.unicodeScalars.append(Unicode.Scalar(UInt32(value))!)
        }
        var appended = "["
        JSONText.appendQuoted(text, to: &appended)
        #expect(try JSONValue.parse(JSONText.quoted(text)) == .string(text))
        #expect(try JSONValue.parse(appended + "]") == .array([.string(text)]))
    }

    @Test func minifiedDropsWhitespaceOutsideStringsOnly() throws {
        let pretty = """
            {
              "id" : "a b\\\" c",
            	"note": "x\\\\ y  ",
              "n": [ 1 , -2.5e3, true, null ],
              "empty": { }
            }
            """
        let minified = JSONText.minified(pretty)
        #expect(minified == #"{"id":"a b\" c","note":"x\\ y  ","n":[1,-2.5e3,true,null],"empty":{}}"#)
        #expect(try JSONValue.parse(minified) == JSONValue.parse(pretty), "the same document")
        #expect(!minified.contains("\n"))
        let compact = #"{"id":"é 😀","n":1}"#
        #expect(JSONText.minified(compact) == compact)
        #expect(JSONText.minified(" \"a\" ") == #""a""#)
    }
}
