import Foundation
import Testing

@testable import NP6Model

struct TimestampTests {
    @Test(arguments: [
        ("0", Int64(0)),
        ("1614089582000", 1_614_089_582_000),
        ("9223372036854775807", .max),
        ("000123", 123),
    ])
    func integerMillisecondsParse(text: String, value: Int64) {
        #expect(Timestamp.parseMilliseconds(text) == value)
    }

    @Test(arguments: [
        ("2021-02-23", Int64(1_614_038_400_000)),
        ("1970-01-01", 0),
        ("2021-02-23T14:13:02Z", 1_614_089_582_000),
        ("2021-02-23t14:13:02z", 1_614_089_582_000),
        ("2021-02-23 14:13:02Z", 1_614_089_582_000),
        ("2021-02-23T14:13:02.5Z", 1_614_089_582_500),
        ("2021-02-23T14:13:02.05Z", 1_614_089_582_050),
        ("2021-02-23T14:13:02.123Z", 1_614_089_582_123),
        ("2021-02-23T14:13:02.123456789Z", 1_614_089_582_123),
        ("2021-02-23T14:13:02.999999Z", 1_614_089_582_999),
        ("2021-02-23T15:13:02+01:00", 1_614_089_582_000),
        ("2021-02-23T15:13:02+0100", 1_614_089_582_000),
        ("2021-02-23T15:13:02+01", 1_614_089_582_000),
        ("2021-02-23T08:43:02-0530", 1_614_089_582_000),
        ("2021-02-23T08:43:02.250-05:30", 1_614_089_582_250),
        ("2021-02-23T00:30:00+01:00", 1_614_036_600_000),
        ("2020-02-29T00:00:00Z", 1_582_934_400_000),
        ("2000-02-29", 951_782_400_000),
        ("2024-12-31T23:59:59.999Z", 1_735_689_599_999),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
    ])
    func isoDatesParse(text: String, value: Int64) {
        #expect(Timestamp.parseMilliseconds(text) == value)
    }

    @Test(arguments: [
        "", " ", "-1", "+1", "1.5", "9223372036854775808", "0x10", " 1614089582000", "1614089582000 ",
        "2021-02-23T14:13:02",  // no offset: ambiguous
        "2021-02-23T14:13:02.123",
        "2021-02-23T14:13Z", "2021-02-23Z", "2021-02-23T", "2021-2-23", "21-02-23", "2021/02/23",
        "2021-02-29", "1900-02-29", "2021-04-31", "2021-13-01", "2021-00-10", "2021-01-00", "2021-01-32",
        "2021-02-23T24:00:00Z", "2021-02-23T23:60:00Z", "2021-02-23T23:59:60Z",
        "2021-02-23T14:13:02.Z", "2021-02-23T14:13:02+1", "2021-02-23T14:13:02+01:", "2021-02-23T14:13:02+24:00",
        "2021-02-23T14:13:02+01:60", "2021-02-23T14:13:02+01:00:00", "2021-02-23T14:13:02ZZ", "2021-02-23T14:13:02 Z",
        "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00", "0000-01-01",
        "２０２１-02-23", "2021-02-23T14:13:02Z\n",
    ])
    func invalidInputsAreRejected(text: String) {
        #expect(Timestamp.parseMilliseconds(text) == nil)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_614_089_582_000, "2021-02-23T14:13:02.000Z"),
        (1_614_089_582_123, "2021-02-23T14:13:02.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
    ])
    func iso8601FormatsInUTCWithMilliseconds(milliseconds: Int64, text: String) {
        #expect(Timestamp.iso8601(milliseconds: milliseconds) == text)
    }

    @Test(arguments: [Int64(0), 1, 999, 1_614_089_582_000, 951_868_799_999, 4_102_444_800_000, 253_402_300_799_999])
    func formattingRoundTrips(milliseconds: Int64) {
        #expect(Timestamp.parseMilliseconds(Timestamp.iso8601(milliseconds: milliseconds)) == milliseconds)
    }

    @Test func extremeValuesFormatWithoutTrapping() {
        #expect(Timestamp.iso8601(milliseconds: .max).hasSuffix(".807Z"))
        #expect(Timestamp.iso8601(milliseconds: .min).hasPrefix("-"))
    }

    @Test(arguments: [
        ("Tue, 14 Nov 2023 22:15:20 GMT", Int64(1_700_000_120_000)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
        ("Tue, 29 Feb 2000 23:59:59 GMT", 951_868_799_000),
    ])
    func httpDatesParse(text: String, value: Int64) {
        #expect(Timestamp.parseHTTPDate(text) == value)
    }

    @Test(arguments: [
        "", "Tue, 14 Nov 2023 22:15:20", "Tue, 14 Nov 2023 22:15:20 UTC", "Tue, 14 Nov 2023 22:15:20 GMT ",
        "tue, 14 Nov 2023 22:15:20 GMT", "Tue, 14 nov 2023 22:15:20 GMT", "Tue 14 Nov 2023 22:15:20 GMT",
        "Tue, 4 Nov 2023 22:15:20 GMT", "Tue, 31 Nov 2023 22:15:20 GMT", "Tue, 29 Feb 2023 22:15:20 GMT",
        "Tue, 14 Nov 2023 24:00:00 GMT", "Tue, 14 Nov 2023 22:60:00 GMT", "Tue, 14 Nov 2023 22:15:60 GMT",
        "Tuesday, 14-Nov-23 22:15:20 GMT", "Tue Nov 14 22:15:20 2023", "2023-11-14T22:15:20Z",
    ])
    func malformedHTTPDatesAreRefused(text: String) {
        #expect(Timestamp.parseHTTPDate(text) == nil)
    }

    @Test func httpDatesAgreeWithFoundation() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var generator = SplitMix64(seed: 9110)
        for _ in 0..<2000 {
            let seconds = Int64.random(in: 0...253_402_300_799, using: &generator)
            let text = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(Timestamp.parseHTTPDate(text) == seconds * 1000, "\(text)")
        }
    }

    @Test func retryAfterIsSecondsOrAnHTTPDateNeverInThePast() {
        let now: Int64 = 1_700_000_000_000
        #expect(Timestamp.parseRetryAfter("120", nowMs: now) == now + 120_000)
        #expect(Timestamp.parseRetryAfter(" 0 ", nowMs: now) == now)
        #expect(Timestamp.parseRetryAfter("-5", nowMs: now) == now)
        #expect(Timestamp.parseRetryAfter("Tue, 14 Nov 2023 22:15:20 GMT", nowMs: now) == now + 120_000)
        #expect(Timestamp.parseRetryAfter("Tue, 14 Nov 2023 22:00:00 GMT", nowMs: now) == now)
        #expect(Timestamp.parseRetryAfter("9223372036854775807", nowMs: now) == nil)
        #expect(Timestamp.parseRetryAfter("soon", nowMs: now) == nil)
        #expect(Timestamp.parseRetryAfter("", nowMs: now) == nil)
    }

    @Test func agreesWithFoundationAcrossTheCalendar() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SplitMix64(seed: 2021)
        for _ in 0..<2000 {
            let milliseconds = Int64.random(in: 0...253_402_300_799_999, using: &generator)
            let ours = Timestamp.iso8601(milliseconds: milliseconds)
            let date = Date(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
            let theirs = formatter.date(from: ours).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
            #expect(theirs == milliseconds, "\(ours) vs \(date)")
            #expect(Timestamp.parseMilliseconds(ours) == milliseconds)
        }
    }
}
