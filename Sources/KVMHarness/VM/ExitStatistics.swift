/// Counts of a vCPU's exits by reason, and the time spent in `KVM_RUN` before each, like `perf kvm stat`.
///
/// Fixed-size storage allocated once, so recording an exit allocates nothing.
public struct ExitStatistics: Sendable {
    static let slots = 64
    private var counts = [UInt64](repeating: 0, count: slots)
    private var nanoseconds = [UInt64](repeating: 0, count: slots)

    /// No exits yet.
    public init() {}

    @inline(__always)
    mutating func record(_ reason: UInt32, nanoseconds elapsed: UInt64) {
        let slot = Int(min(reason, UInt32(Self.slots - 1)))
        counts[slot] &+= 1
        nanoseconds[slot] &+= elapsed
    }

    /// How many exits had this reason.
    public func count(of reason: ExitReason) -> UInt64 { counts[Int(min(reason.rawValue, UInt32(Self.slots - 1)))] }

    /// All exits.
    public var total: UInt64 { counts.reduce(0, +) }

    /// One row per reason seen: count, total and mean time in KVM_RUN (0 unless timing was on).
    public var rows: [(reason: ExitReason, count: UInt64, totalNanoseconds: UInt64)] {
        (0..<Self.slots).compactMap { slot in
            counts[slot] == 0 ? nil : (ExitReason(rawValue: UInt32(slot)), counts[slot], nanoseconds[slot])
        }
    }

    /// Adds another vCPU's counts.
    public mutating func merge(_ other: ExitStatistics) {
        for slot in 0..<Self.slots {
            counts[slot] &+= other.counts[slot]
            nanoseconds[slot] &+= other.nanoseconds[slot]
        }
    }
}
