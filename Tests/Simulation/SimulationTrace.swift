import Synchronization

/// What happened in one run, line by line: requests, faults, crashes, commits, deliveries.
///
/// Parts of the engine that run concurrently (the sinks' loops) write to channels of their own,
/// which ``merge()`` appends in name order: the trace is the same for the same seed however the
/// machine interleaves them.
public final class SimulationTrace: Sendable {
    private struct State {
        var lines: [String] = []
        var channels: [String: [String]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func record(_ line: String) { state.withLock { $0.lines.append(line) } }

    public func record(_ line: String, channel: String) {
        state.withLock { $0.channels[channel, default: []].append(line) }
    }

    /// Appends the channels' lines to the trace, channel by channel in name order.
    public func merge() {
        state.withLock { state in
            for name in state.channels.keys.sorted() {
                state.lines += state.channels[name]!.map { "[\(name)] \($0)" }
            }
            state.channels = [:]
        }
    }

    public var lines: [String] { state.withLock { $0.lines } }
}
