/// A small, fast, seedable random number generator (SplitMix64).
///
/// Everything the fake generates from `seed` goes through this generator, so the same seed gives
/// the same contacts and events on every platform (the standard library's generator is neither
/// seedable nor stable across releases).
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    /// A generator for one labelled stream derived from `seed`, independent of the other streams.
    init(seed: UInt64, stream: UInt64, index: UInt64 = 0) {
        self.state = Self.mix(
            seed ^ Self.mix(stream &+ 0x9E37_79B9_7F4A_7C15) ^ Self.mix(index &* 0xD1B5_4A32_D192_ED03 &+ 1)
        )
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(self.state)
    }

    /// True with probability `probability` (0 → never, 1 → always).
    mutating func chance(_ probability: Double) -> Bool {
        guard probability > 0 else { return false }
        guard probability < 1 else { return true }
        return Double(self.next() >> 11) * 0x1.0p-53 < probability
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
