import Foundation
import NP6Model
import Testing

@testable import Config

/// The `sync` and `schedule` sections: the start of history, jitter.
@Suite struct SyncConfigurationTests {
    @Test func defaultJitterIsAtMostTheInterval() throws {
        let short = try SyncConfiguration.parse(#"{"schedule": {"intervalSeconds": 10}}"#, environment: [:])
        #expect(short.schedule == ScheduleConfiguration(intervalSeconds: 10, jitterSeconds: 10))
        let long = try SyncConfiguration.parse(#"{"schedule": {"intervalSeconds": 3600}}"#, environment: [:])
        #expect(long.schedule.jitterSeconds == 30)
        #expect(ScheduleConfiguration(intervalSeconds: 1).jitterSeconds == 1)
    }

    @Test func initialStartAcceptsISODatesAndMilliseconds() throws {
        for (value, expected): (String, Int64) in [
            (#""2021-02-23T14:13:02Z""#, 1_614_089_582_000),
            (#""2021-02-23T15:13:02+01:00""#, 1_614_089_582_000),
            (#""2021-02-23""#, 1_614_038_400_000),
            ("1614089582000", 1_614_089_582_000),
            ("0", 0),
        ] {
            let configuration = try SyncConfiguration.parse(#"{"sync": {"initialStart": \#(value)}}"#, environment: [:])
            #expect(configuration.sync.initialStartMs == expected, "\(value)")
        }
    }

    @Test(arguments: [
        (
            #""yesterday""#,
            #"sync.initialStart: expected an ISO-8601 date such as "2021-02-23T14:13:02Z" or "2021-02-23", or integer milliseconds, got "yesterday""#
        ),
        ("-1", "sync.initialStart: must not be before 1970-01-01T00:00:00Z, got -1 ms"),
        ("1.5", "sync.initialStart: expected integer milliseconds or an ISO-8601 date, got 1.5"),
        ("true", "sync.initialStart: expected an ISO-8601 date string or integer milliseconds, found a boolean"),
    ])
    func badInitialStartIsRejected(value: String, expected: String) throws {
        #expect(try issues(#"{"sync": {"initialStart": \#(value)}}"#) == [expected])
    }

    @Test func initialStartInSecondsIsCaught() throws {
        let found = try issues(#"{"sync": {"initialStart": 1614089582}}"#)
        #expect(found.count == 1)
        #expect(found[0].hasPrefix("sync.initialStart: 1614089582 milliseconds is 1970-01-19"))
        #expect(found[0].hasSuffix("if you meant seconds, write 1614089582000"))
    }
}
