import Logging
import Synchronization

/// The log level of every `LineLogHandler` of the process, changeable at run time (SIGHUP).
public final class LogLevelControl: Sendable {
    private let storage: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        storage = Mutex(level)
    }

    public var level: Logger.Level {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
