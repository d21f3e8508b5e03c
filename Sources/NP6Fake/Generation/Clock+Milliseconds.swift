#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Wall-clock time in milliseconds since 1970, the unit NP6 event timestamps use.
@usableFromInline
func currentTimeMs() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
}
