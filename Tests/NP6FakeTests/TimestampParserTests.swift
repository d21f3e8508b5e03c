import Testing

@testable import NP6Fake

@Suite("TimestampParserTests")
struct TimestampParserTests {
    @Test(
        arguments: [
            ("1614089500000", 1_614_089_500_000),
            ("-5", -5),
            ("2019-08-24T14:15:22Z", 1_566_656_122_000),
            ("2019-08-24t14:15:22z", 1_566_656_122_000),
            ("2019-08-24T14:15:22.5Z", 1_566_656_122_500),
            ("2019-08-24T14:15:22.123456Z", 1_566_656_122_123),
            ("2019-08-24T16:15:22+02:00", 1_566_656_122_000),
            ("2019-08-24T10:15:22-0400", 1_566_656_122_000),
            ("2019-08-24T16:15:22+02", 1_566_656_122_000),
            ("2019-08-24T14:15:22", 1_566_656_122_000),
            ("2019-08-24T14:15Z", 1_566_656_100_000),
            ("2019-08-24", 1_566_604_800_000),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ] as [(String, Int64)]
    )
    func parsesMillisecondsAndISO8601(text: String, expected: Int64) {
        #expect(TimestampParser.milliseconds(from: text) == expected)
    }

    @Test(arguments: [
        "", "yesterday", "2019-08-24T14:15:22 02:00", "2019-13-01T00:00:00Z", "2023-02-29", "2019-08-24T24:00:00Z",
        "2019-08-24T14:15:22.Z", "1.5e12",
    ])
    func rejectsOtherText(text: String) {
        #expect(TimestampParser.milliseconds(from: text) == nil)
    }
}
