import Foundation

/// The wall clock in milliseconds since the epoch: the unit of watermarks and event timestamps.
public enum WallClock {
    @Sendable public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
