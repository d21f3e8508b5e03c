/// Conversions between NP6 timestamps (integer milliseconds since 1970-01-01T00:00:00Z) and text,
/// by plain calendar arithmetic (proleptic Gregorian, days-from-civil) rather than a date formatter.
public enum Timestamp {
    private static let millisecondsPerDay: Int64 = 86_400_000

    /// Parses integer milliseconds since the epoch, or an ISO-8601 date or date-time, into
    /// milliseconds since the epoch.
    ///
    /// Accepted:
    /// - `1614089582000`: non-negative integer milliseconds;
    /// - `2021-02-23`: midnight UTC;
    /// - `2021-02-23T14:13:02Z`, with an optional fraction of any length (`.5`, `.123456`,
    ///   truncated to milliseconds) and an offset `Z`, `+01:00`, `-0530` or `+01`; lower-case `t`
    ///   and `z`, and a space instead of `T`, are accepted too.
    ///
    /// Returns nil for anything else: a date-time without an offset (ambiguous), an invalid
    /// month or day (Feb 29 outside leap years), hour 24, second 60, surrounding whitespace,
    /// or a moment before the epoch.
    public static func parseMilliseconds(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse(Array($0)) }
    }

    /// Formats milliseconds since the epoch as ISO-8601 in UTC with exactly three fraction
    /// digits, e.g. `2021-02-23T14:13:02.000Z`.
    ///
    /// Years outside 0...9999 are written with as many digits as they need (and a `-` sign before
    /// year 0), so every Int64 formats without trapping.
    public static func iso8601(milliseconds: Int64) -> String {
        let (days, millisecondOfDay) = floorDivide(milliseconds, millisecondsPerDay)
        let (year, month, day) = civil(fromDays: days)
        let secondOfDay = millisecondOfDay / 1000
        let fraction = millisecondOfDay % 1000
        let yearText = year < 0 ? "-" + padded(-year, 4) : padded(year, 4)
        return "\(yearText)-\(padded(month, 2))-\(padded(day, 2))T"
            + "\(padded(secondOfDay / 3600, 2)):\(padded(secondOfDay / 60 % 60, 2)):\(padded(secondOfDay % 60, 2))"
            + ".\(padded(fraction, 3))Z"
    }

    /// Parses an HTTP date (RFC 9110 §5.6.7) in the form senders generate, IMF-fixdate
    /// (`Tue, 14 Nov 2023 22:15:20 GMT`), into milliseconds since the epoch.
    ///
    /// Returns nil for anything else, the obsolete RFC 850 and asctime forms included.
    public static func parseHTTPDate(_ text: String) -> Int64? {
        var reader = Reader(bytes: Array(text.utf8))
        guard reader.word(in: dayNames) != nil, reader.skip(","), reader.skip(" "),
            let day = reader.digits(2), reader.skip(" "),
            let month = reader.word(in: monthNames).map({ Int64($0) + 1 }), reader.skip(" "),
            let year = reader.digits(4), reader.skip(" "),
            let hour = reader.digits(2), reader.skip(":"),
            let minute = reader.digits(2), reader.skip(":"),
            let second = reader.digits(2), reader.skip(" "),
            reader.word(in: ["GMT"]) != nil, reader.isAtEnd,
            (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        let days = self.days(fromCivilYear: year, month: month, day: day)
        return nonNegative((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000)
    }

    /// A `Retry-After` value (RFC 9110 §10.2.3), delay-seconds or an HTTP date, as the moment it
    /// asks to wait until, in milliseconds since the epoch; never before `nowMs`.
    ///
    /// Returns nil when the value is neither (or too large to be meant).
    public static func parseRetryAfter(_ value: String, nowMs: Int64) -> Int64? {
        var value = Substring(value)
        while value.first == " " || value.first == "\t" { value.removeFirst() }
        while value.last == " " || value.last == "\t" { value.removeLast() }
        if let seconds = Int64(value) {
            let (delay, overflow1) = max(0, seconds).multipliedReportingOverflow(by: 1000)
            let (moment, overflow2) = nowMs.addingReportingOverflow(delay)
            return overflow1 || overflow2 ? nil : moment
        }
        return parseHTTPDate(String(value)).map { max(nowMs, $0) }
    }

    // MARK: - Parsing

    private static func parse(_ bytes: [UInt8]) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        if bytes.allSatisfy(isDigit) {
            var value: Int64 = 0
            for byte in bytes {
                let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (next, overflow2) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                value = next
            }
            return value
        }
        var reader = Reader(bytes: bytes)
        guard let year = reader.digits(4), reader.skip("-"),
            let month = reader.digits(2), reader.skip("-"),
            let day = reader.digits(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        let days = self.days(fromCivilYear: year, month: month, day: day)
        if reader.isAtEnd { return nonNegative(days * millisecondsPerDay) }

        guard reader.skip("T") || reader.skip("t") || reader.skip(" "),
            let hour = reader.digits(2), reader.skip(":"),
            let minute = reader.digits(2), reader.skip(":"),
            let second = reader.digits(2),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var millisecond: Int64 = 0
        if reader.skip(".") {
            var count = 0
            while let digit = reader.digits(1) {
                if count < 3 { millisecond = millisecond * 10 + digit }
                count += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 3) { millisecond *= 10 }
        }
        guard let offsetSeconds = reader.offsetSeconds(), reader.isAtEnd else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return nonNegative(seconds * 1000 + millisecond)
    }

    /// Reads an ISO-8601 date-time's pieces left to right.
    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var isAtEnd: Bool { index == bytes.count }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        /// Exactly `count` decimal digits, or nil (and nothing consumed).
        mutating func digits(_ count: Int) -> Int64? {
            guard bytes.count - index >= count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + count)] {
                guard isDigit(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }

        /// The index in `words` of the word that comes next (all of one length), or nil (and
        /// nothing consumed).
        mutating func word(in words: [String]) -> Int? {
            guard let length = words.first?.utf8.count, bytes.count - index >= length,
                let found = words.firstIndex(where: { $0.utf8.elementsEqual(bytes[index..<(index + length)]) })
            else { return nil }
            index += length
            return found
        }

        /// `Z`, `z`, `±HH`, `±HHMM` or `±HH:MM` as seconds east of UTC; nil when absent or invalid.
        mutating func offsetSeconds() -> Int64? {
            if skip("Z") || skip("z") { return 0 }
            let sign: Int64
            if skip("+") {
                sign = 1
            } else if skip("-") {
                sign = -1
            } else {
                return nil
            }
            guard let hours = digits(2), hours < 24 else { return nil }
            var minutes: Int64 = 0
            if skip(":") {
                guard let value = digits(2) else { return nil }
                minutes = value
            } else if let value = digits(2) {
                minutes = value
            }
            guard minutes < 60 else { return nil }
            return sign * (hours * 3600 + minutes * 60)
        }
    }

    private static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    private static func nonNegative(_ value: Int64) -> Int64? {
        value >= 0 ? value : nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func isLeap(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // MARK: - Calendar arithmetic (Howard Hinnant's days_from_civil / civil_from_days)

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    private static func days(fromCivilYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400).quotient
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468  // |days| ≤ Int64.max / 86_400_000, so no overflow
        let era = floorDivide(z, 146_097).quotient
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Division rounding toward negative infinity, with a non-negative remainder.
    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = value / divisor
        var remainder = value % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
