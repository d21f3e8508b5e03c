/// Parses the `start` and `end` filter values: integer milliseconds or an ISO-8601 date-time.
///
/// Accepted: `1614089500000`, `2019-08-24T14:15:22Z`, `2019-08-24T14:15:22.123Z`,
/// `2019-08-24T16:15:22+02:00` (also `+0200`, `+02`), a date-time without offset (UTC), and a
/// bare date `2019-08-24` (midnight UTC). Fractions beyond milliseconds are truncated.
enum TimestampParser {
    /// Milliseconds since 1970, or `nil` when `text` is neither form.
    static func milliseconds(from text: String) -> Int64? {
        if let integer = Int64(text) { return integer }
        return iso8601(Array(text.utf8))
    }

    private static func iso8601(_ bytes: [UInt8]) -> Int64? {
        var cursor = Cursor(bytes: bytes)
        guard let year = cursor.digits(4), cursor.take("-"), let month = cursor.digits(2), cursor.take("-"),
            let day = cursor.digits(2), (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var seconds = daysFromCivil(year: year, month: month, day: day) * 86_400
        var millis: Int64 = 0
        if cursor.atEnd { return seconds * 1000 }
        guard cursor.take("T") || cursor.take("t") || cursor.take(" ") else { return nil }
        guard let hour = cursor.digits(2), cursor.take(":"), let minute = cursor.digits(2), hour < 24, minute < 60
        else {
            return nil
        }
        seconds += Int64(hour * 3600 + minute * 60)
        if cursor.take(":") {
            guard let second = cursor.digits(2), second < 61 else { return nil }
            seconds += Int64(second)
            if cursor.take(".") || cursor.take(",") {
                var scale: Int64 = 100
                var count = 0
                while let digit = cursor.digit() {
                    millis += Int64(digit) * scale
                    scale /= 10
                    count += 1
                }
                guard count > 0 else { return nil }
            }
        }
        if cursor.take("Z") || cursor.take("z") {
            // UTC
        } else if let sign = cursor.sign() {
            guard let offsetHours = cursor.digits(2), offsetHours < 24 else { return nil }
            var offsetMinutes = 0
            if cursor.take(":") {
                guard let minutes = cursor.digits(2) else { return nil }
                offsetMinutes = minutes
            } else if let minutes = cursor.digits(2) {
                offsetMinutes = minutes
            }
            guard offsetMinutes < 60 else { return nil }
            seconds -= Int64(sign * (offsetHours * 3600 + offsetMinutes * 60))
        }
        guard cursor.atEnd else { return nil }
        return seconds * 1000 + millis
    }

    private struct Cursor {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }

        mutating func take(_ character: Unicode.Scalar) -> Bool {
            guard position < bytes.count, bytes[position] == UInt8(ascii: character) else { return false }
            position += 1
            return true
        }

        mutating func digit() -> Int? {
            guard position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else {
                return nil
            }
            defer { position += 1 }
            return Int(bytes[position] - UInt8(ascii: "0"))
        }

        mutating func digits(_ count: Int) -> Int? {
            let start = position
            var value = 0
            for _ in 0..<count {
                guard let digit = digit() else {
                    position = start
                    return nil
                }
                value = value * 10 + digit
            }
            return value
        }

        mutating func sign() -> Int? {
            if take("+") { return 1 }
            if take("-") { return -1 }
            return nil
        }
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
