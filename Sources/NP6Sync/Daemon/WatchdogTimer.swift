import Config
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// Says when the next WATCHDOG=1 is due: every `interval` (half of WatchdogSec) on `clock`.
actor WatchdogTimer<C: Clock<Duration>> {
    private let interval: Duration?
    private let clock: C
    private var last: C.Instant?

    init(interval: Duration?, clock: C) {
        self.interval = interval
        self.clock = clock
    }

    func isDue() -> Bool {
        guard let interval else { return false }
        let now = clock.now
        if let last, last.duration(to: now) < interval { return false }
        last = now
        return true
    }
}
