#if arch(arm64)
/// On arm64 the harness's page tables are AArch64 stage-1 tables (TTBR0_EL1, 4 KiB granule).
public typealias PageTables = Stage1PageTables
#endif

extension Stage1PageTables {
    /// The lowest `alignment`-aligned guest-virtual address at or above `start` where `size` bytes are unmapped
    /// (`VirtualMachine.allocate(size:)`), or nil if there is none below 2^`virtualAddressBits`. An empty table entry
    /// skips the whole range it would map.
    package func unusedRange(size: UInt64, from start: UInt64, alignment: UInt64, memory: some PhysicalMemory)
        -> UInt64?
    {
        let limit: UInt64 = 1 << UInt64(virtualAddressBits)
        var candidate = start.roundedUp(to: alignment)
        var probe = candidate
        while candidate < limit && size <= limit - candidate {
            if probe >= candidate + size { return candidate }
            switch translate(probe, memory: memory) {
            case .notPresent(let level):
                // The descriptor at lookup level `level` (0 to 3) is invalid: everything it would map is free.
                let span: UInt64 = 1 << UInt64(12 + 9 * (3 - level))
                probe = probe.roundedDown(to: span) + span
            default:
                candidate = (probe + 4096).roundedUp(to: alignment)
                probe = candidate
            }
        }
        return nil
    }
}
