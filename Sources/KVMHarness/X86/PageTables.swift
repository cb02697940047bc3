#if arch(x86_64)
/// x86-64 4-level paging: building the harness's tables, and walking whatever tables the guest has.
///
/// Pure logic over `PhysicalMemory`: no ioctls, so it is tested on plain buffers.
public struct PageTables: Sendable {
    /// The guest-physical address of the PML4: the value for CR3.
    public let root: UInt64
    /// The guest's MAXPHYADDR, which bounds the address bits of every entry.
    public let physicalAddressBits: Int

    /// Creates empty tables, taking the PML4 page from `allocator`.
    package init(allocator: inout PhysicalPageAllocator, physicalAddressBits: Int) throws(KVMError) {
        root = try allocator.allocate(PhysicalPageAllocator.pageSize)
        self.physicalAddressBits = physicalAddressBits
    }

    /// The mask of the address bits in an entry: bits 12 to MAXPHYADDR-1.
    public static func addressMask(physicalAddressBits: Int) -> UInt64 {
        let bits = min(max(physicalAddressBits, 32), 52)
        return ((1 << UInt64(bits)) - 1) & ~0xfff
    }

    /// The bits of a present entry at `level` that the architecture reserves (4-level paging, EFER.NXE set): bits
    /// MAXPHYADDR to 51, PS in a PML4E, and bits 13 to 29 (1 GiB page) or 13 to 20 (2 MiB page) of a large-page
    /// entry. Whether 1 GiB pages are supported at all is not checked: every host KVM runs on has them.
    @inline(__always)
    static func reservedBits(_ entry: UInt64, level: Int, physicalAddressBits: Int) -> UInt64 {
        let bits = UInt64(min(max(physicalAddressBits, 32), 52))
        var reserved: UInt64 = ((1 << 52) - 1) & ~((1 << bits) - 1)
        let largePage = entry & PageTableFlags.largePage.rawValue != 0
        switch level {
        case 4: reserved |= PageTableFlags.largePage.rawValue
        case 3 where largePage: reserved |= 0x3fff_e000
        case 2 where largePage: reserved |= 0x1f_e000
        default: break
        }
        return entry & reserved
    }

    /// Whether bits 63:47 of `gva` are all equal, as 4-level paging requires.
    @inline(__always)
    public static func isCanonical(_ gva: UInt64) -> Bool {
        let top = gva >> 47
        return top == 0 || top == 0x1ffff
    }

    @inline(__always)
    static func index(_ gva: UInt64, level: Int) -> UInt64 { (gva >> UInt64(12 + 9 * (level - 1))) & 0x1ff }

    /// Maps the 4 KiB page at `gva` to `gpa`, allocating intermediate tables from `allocator`.
    ///
    /// - Throws: `.guestAddressInUse` if `gva` is already mapped (or covered by a large page),
    ///   `.invalidArgument` for an unaligned or non-canonical address, `.outOfGuestMemory` for tables.
    package func map(
        gva: UInt64, gpa: UInt64, flags: PageTableFlags, memory: some PhysicalMemory,
        allocator: inout PhysicalPageAllocator
    ) throws(KVMError) {
        guard gva & 0xfff == 0, gpa & 0xfff == 0, Self.isCanonical(gva) else {
            throw .invalidArgument("can't map guest-virtual \(hex(gva)) to \(hex(gpa)): not page aligned or not canonical")
        }
        let mask = Self.addressMask(physicalAddressBits: physicalAddressBits)
        var table = root
        for level in stride(from: 4, to: 1, by: -1) {
            let slot = table + Self.index(gva, level: level) * 8
            guard let entry = memory.readU64(gpa: slot) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
            if entry & PageTableFlags.present.rawValue == 0 {
                let next = try allocator.allocate(PhysicalPageAllocator.pageSize)
                let value = next | PageTableFlags([.present, .writable]).rawValue
                guard memory.writeU64(gpa: slot, value) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
                table = next
            } else if entry & PageTableFlags.largePage.rawValue != 0 {
                throw .guestAddressInUse(gva: gva)
            } else {
                table = entry & mask
            }
        }
        let slot = table + Self.index(gva, level: 1) * 8
        guard let existing = memory.readU64(gpa: slot) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
        guard existing & PageTableFlags.present.rawValue == 0 else { throw .guestAddressInUse(gva: gva) }
        guard memory.writeU64(gpa: slot, (gpa & mask) | flags.union(.present).rawValue) else {
            throw .guestAddressOutsideMemory(gva: gva, gpa: slot)
        }
    }

    /// Maps `size` bytes (whole pages) at `gva` to the physically contiguous range at `gpa`.
    package func map(
        gva: UInt64, gpa: UInt64, size: UInt64, flags: PageTableFlags, memory: some PhysicalMemory,
        allocator: inout PhysicalPageAllocator
    ) throws(KVMError) {
        var offset: UInt64 = 0
        while offset < size {
            try map(gva: gva + offset, gpa: gpa + offset, flags: flags, memory: memory, allocator: &allocator)
            offset += PhysicalPageAllocator.pageSize
        }
    }

    /// Translates through these tables.
    package func translate(_ gva: UInt64, memory: some PhysicalMemory) -> Translation {
        Self.translate(gva, cr3: root, physicalAddressBits: physicalAddressBits, memory: memory)
    }

    /// Walks the 4-level tables rooted at `cr3` and reports where `gva` lands, with the permissions the walk grants
    /// (the caller checks them against the access: `GuestVirtualMemory`). Handles 1 GiB and 2 MiB pages. Reads only
    /// through `memory`, so corrupt tables cannot make the host read outside guest memory; an entry with reserved
    /// bits set stops the walk, as the CPU's #PF would.
    @inline(__always)
    package static func translate(
        _ gva: UInt64, cr3: UInt64, physicalAddressBits: Int, memory: some PhysicalMemory
    ) -> Translation {
        guard isCanonical(gva) else { return .nonCanonical }
        let mask = addressMask(physicalAddressBits: physicalAddressBits)
        var table = cr3 & mask
        var writable = true
        var executable = true
        var user = true
        for level in stride(from: 4, through: 1, by: -1) {
            let slot = table + index(gva, level: level) * 8
            guard let entry = memory.readU64(gpa: slot) else {
                return .invalid(.tableOutsideMemory(level: level, tableGPA: table))
            }
            guard entry & PageTableFlags.present.rawValue != 0 else { return .notPresent(level: level) }
            let reserved = reservedBits(entry, level: level, physicalAddressBits: physicalAddressBits)
            guard reserved == 0 else { return .invalid(.reservedBits(level: level, entry: entry, bits: reserved)) }
            writable = writable && entry & PageTableFlags.writable.rawValue != 0
            executable = executable && entry & PageTableFlags.noExecute.rawValue == 0
            user = user && entry & PageTableFlags.user.rawValue != 0
            if level == 1 || (level <= 3 && entry & PageTableFlags.largePage.rawValue != 0) {
                let pageMask: UInt64 = (1 << UInt64(12 + 9 * (level - 1))) - 1
                let gpa = (entry & mask & ~pageMask) | (gva & pageMask)
                return .mapped(gpa: gpa, writable: writable, executable: executable, user: user)
            }
            table = entry & mask
        }
        return .notPresent(level: 1)
    }
}
#endif
