import Testing

@testable import NP6Fake

@Suite("JSONArrayScannerTests")
struct JSONArrayScannerTests {
    @Test(arguments: [
        ("[]", 0),
        (" [ 1 , \"a\\\"]\" , {\"k\": [true, null, -1.5e3]} ] ", 3),
        (#"[{"a":{"b":[]}},{}]"#, 2),
    ])
    func countsTopLevelElementsInAnyChunking(text: String, count: Int) throws {
        let bytes = Array(text.utf8)
        for size in [1, 2, 7, bytes.count] {
            var scanner = JSONArrayScanner()
            var start = 0
            while start < bytes.count {
                scanner.feed(bytes[start..<min(bytes.count, start + size)])
                start += size
            }
            #expect(try scanner.finish() == count)
        }
    }

    @Test(arguments: [#"{"a":1}"#, "[1,]", "[1", #"[{"id": }]"#, "[1]]", #"["a"#, "[1 2]", #"[{"a" 1}]"#])
    func rejectsWhatIsNotOneWellFormedArray(text: String) {
        var scanner = JSONArrayScanner()
        scanner.feed(Array(text.utf8))
        #expect(throws: JSONArrayScanner.Failure.self) { try scanner.finish() }
    }
}
