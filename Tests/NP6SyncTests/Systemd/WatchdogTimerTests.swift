import TestClocks
import Testing

@testable import NP6Sync

@Suite(.timeLimit(.minutes(1))) struct WatchdogTimerTests {
    @Test func watchdogIsDueAtOnceThenEveryInterval() async {
        let clock = ManualClock()
        let watchdog = WatchdogTimer(interval: .milliseconds(200), clock: clock)
        #expect(await watchdog.isDue(), "the first turn pings at once")
        #expect(await !watchdog.isDue())
        clock.advance(by: .milliseconds(199))
        #expect(await !watchdog.isDue())
        clock.advance(by: .milliseconds(1))
        #expect(await watchdog.isDue())
        #expect(await !watchdog.isDue())
        clock.advance(by: .seconds(5))
        #expect(await watchdog.isDue(), "a late turn pings once")
        #expect(await !watchdog.isDue())
    }

    @Test func noWatchdogWithoutAnInterval() async {
        let clock = ManualClock()
        let watchdog = WatchdogTimer(interval: nil, clock: clock)
        #expect(await !watchdog.isDue())
        clock.advance(by: .seconds(3600))
        #expect(await !watchdog.isDue())
    }
}
