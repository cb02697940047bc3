#if arch(x86_64)
/// A page size of x86-64 4-level paging.
public enum GuestPageSize: UInt64, Sendable, CaseIterable {
    /// A 4 KiB page (a PTE).
    case size4KiB = 0x1000
    /// A 2 MiB page (a PDE with PS).
    case size2MiB = 0x20_0000
    /// A 1 GiB page (a PDPTE with PS; the guest's CPUID needs PDPE1GB).
    case size1GiB = 0x4000_0000

    /// The level of the entry that maps it: 1 for a PTE, 2 for a PDE, 3 for a PDPTE.
    var level: Int {
        switch self {
        case .size4KiB: 1
        case .size2MiB: 2
        case .size1GiB: 3
        }
    }
}

extension PageTables {
    /// Maps one page of `pageSize` at `gva` to `gpa`, both aligned to it, allocating the tables above it.
    ///
    /// - Throws: `.guestAddressInUse` if any part of it is already mapped, `.invalidArgument` for an unaligned or
    ///   non-canonical address, `.outOfGuestMemory` for tables.
    package func map(
        gva: UInt64, gpa: UInt64, pageSize: GuestPageSize, flags: PageTableFlags, memory: some PhysicalMemory,
        allocator: inout PhysicalPageAllocator
    ) throws(KVMError) {
        if pageSize == .size4KiB {
            try map(gva: gva, gpa: gpa, flags: flags, memory: memory, allocator: &allocator)
            return
        }
        let alignment = pageSize.rawValue
        guard gva % alignment == 0, gpa % alignment == 0, Self.isCanonical(gva) else {
            throw .invalidArgument(
                "can't map a \(alignment >> 20) MiB page at guest-virtual \(hex(gva)) to \(hex(gpa)): not aligned or not canonical")
        }
        let mask = Self.addressMask(physicalAddressBits: physicalAddressBits)
        var table = root
        for level in stride(from: 4, to: pageSize.level, by: -1) {
            let slot = table + Self.index(gva, level: level) * 8
            guard let entry = memory.readU64(gpa: slot) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
            if entry & PageTableFlags.present.rawValue == 0 {
                let next = try allocator.allocate(PhysicalPageAllocator.pageSize)
                guard memory.writeU64(gpa: slot, next | PageTableFlags([.present, .writable]).rawValue) else {
                    throw .guestAddressOutsideMemory(gva: gva, gpa: slot)
                }
                table = next
            } else if entry & PageTableFlags.largePage.rawValue != 0 {
                throw .guestAddressInUse(gva: gva)
            } else {
                table = entry & mask
            }
        }
        let slot = table + Self.index(gva, level: pageSize.level) * 8
        guard let existing = memory.readU64(gpa: slot) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
        // Present: a smaller page or a table under it maps part of this range already.
        guard existing & PageTableFlags.present.rawValue == 0 else { throw .guestAddressInUse(gva: gva) }
        guard memory.writeU64(gpa: slot, (gpa & mask) | flags.union([.present, .largePage]).rawValue) else {
            throw .guestAddressOutsideMemory(gva: gva, gpa: slot)
        }
    }

    /// The lowest guest-virtual address at or above `start` (rounded up to `alignment`) where `size` bytes are
    /// unmapped, below the end of the lower canonical half; nil if there is none. Skips whole unmapped tables.
    package func unusedRange(size: UInt64, from start: UInt64, alignment: UInt64, memory: some PhysicalMemory)
        -> UInt64?
    {
        let limit: UInt64 = 1 << 47
        var candidate = start.roundedUp(to: alignment)
        var probe = candidate
        while candidate < limit && size <= limit - candidate {
            if probe >= candidate + size { return candidate }
            switch translate(probe, memory: memory) {
            case .notPresent(let level):
                // The entry at `level` is empty: the whole range it would map is free.
                let span: UInt64 = 1 << UInt64(12 + 9 * (level - 1))
                probe = probe.roundedDown(to: span) + span
            default:
                candidate = (probe + 4096).roundedUp(to: alignment)
                probe = candidate
            }
        }
        return nil
    }
}
#endif
