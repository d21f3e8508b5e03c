import Synchronization

/// SplitMix64: a small, fast generator whose whole state is one integer, so that a seed fixes
/// every draw. Each part of the world draws from its own stream (``SimulationRandom/stream(_:)``),
/// so that adding draws to one part does not shift the others.
public struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An independent stream for the part of the world called `name`.
    public func stream(_ name: String) -> SimulationRandom {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in name.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        var copy = self
        return SimulationRandom(seed: copy.next() ^ hash)
    }

    /// `true` with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { p > 0 && Double.random(in: 0..<1, using: &self) < p }

    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    public mutating func int64(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &self) }

    public mutating func unit() -> Double { Double.random(in: 0..<1, using: &self) }

    public mutating func pick<T>(_ elements: [T]) -> T { elements[Int.random(in: 0..<elements.count, using: &self)] }
}

/// A stream shared by closures the engine calls (`random:` parameters): draws are deterministic
/// as long as the engine calls it in a deterministic order.
public final class SharedRandom: Sendable {
    private let state: Mutex<SimulationRandom>

    public init(_ random: SimulationRandom) { state = Mutex(random) }

    public func unit() -> Double { state.withLock { $0.unit() } }

    public func draw<T>(_ body: (inout SimulationRandom) -> T) -> T { state.withLock { body(&$0) } }
}
