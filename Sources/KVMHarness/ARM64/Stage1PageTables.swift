/// AArch64 stage-1 translation for the EL1&0 regime: building the harness's tables, and walking whatever tables the
/// guest has.
///
/// The harness's configuration: 4 KiB granule, TTBR0_EL1 only (TCR_EL1.EPD1 is set, so addresses at or above
/// 2^`virtualAddressBits` fault), `virtualAddressBits` from 39 to 48 (T0SZ 25 to 16), so the walk starts at lookup
/// level 0 (40 to 48 bits) or level 1 (39 bits) and ends at level 3. Levels are the architecture's: 0 indexes VA bits
/// 47:39, 1 bits 38:30 (a block there is 1 GiB), 2 bits 29:21 (a block is 2 MiB), 3 bits 20:12 (4 KiB pages).
///
/// Pure logic over `PhysicalMemory`: no ioctls, so it is tested on plain buffers.
public struct Stage1PageTables: Sendable {
    /// The guest-physical address of the start-level table: the base address for TTBR0_EL1.
    public let root: UInt64
    /// The output address size (TCR_EL1.IPS, at most the VM's IPA size), which bounds the address of every
    /// descriptor.
    public let physicalAddressBits: Int
    /// The size of the virtual address space, 64 - TCR_EL1.T0SZ.
    public let virtualAddressBits: Int

    /// The memory type of a mapping: the AttrIndx a page descriptor selects in MAIR_EL1.
    package enum MemoryType: Sendable {
        /// Normal memory, inner and outer write-back (MAIR attribute 0xff, index 1).
        case normal
        /// Device-nGnRE memory, for MMIO (MAIR attribute 0x04, index 0). Never executable.
        case device

        /// The AttrIndx value, the index of the attribute in `Stage1PageTables.mair`.
        package var attributeIndex: UInt64 {
            switch self {
            case .device: return Stage1PageTables.deviceAttributeIndex
            case .normal: return Stage1PageTables.normalAttributeIndex
            }
        }
    }

    /// The MAIR_EL1 index of Device-nGnRE memory.
    package static let deviceAttributeIndex: UInt64 = 0
    /// The MAIR_EL1 index of Normal write-back memory.
    package static let normalAttributeIndex: UInt64 = 1
    /// MAIR_EL1 attribute 0x04: Device-nGnRE (non-gathering, non-reordering, early write acknowledgement).
    package static let deviceAttribute: UInt64 = 0x04
    /// MAIR_EL1 attribute 0xff: Normal memory, inner and outer write-back non-transient, read- and write-allocate.
    package static let normalAttribute: UInt64 = 0xff
    /// The MAIR_EL1 value the descriptors built here assume: one attribute byte per index.
    package static let mair: UInt64 =
        deviceAttribute << (8 * deviceAttributeIndex) | normalAttribute << (8 * normalAttributeIndex)

    /// The bits of a VMSAv8-64 descriptor (4 KiB granule) that the builder and the walk use.
    package enum Descriptor {
        /// Bit 0: the descriptor is valid.
        static let valid: UInt64 = 1 << 0
        /// Bit 1: a table descriptor (levels 0 to 2) or a page descriptor (level 3); clear, a block (levels 1, 2).
        static let tableOrPage: UInt64 = 1 << 1
        /// AttrIndx, bits 4:2.
        static let attributeIndexShift: UInt64 = 2
        /// AP[1], bit 6: EL0 may access.
        static let el0Access: UInt64 = 1 << 6
        /// AP[2], bit 7: read-only (at every EL).
        static let readOnly: UInt64 = 1 << 7
        /// SH, bits 9:8, 0b11: inner shareable.
        static let innerShareable: UInt64 = 0b11 << 8
        /// AF, bit 10: the access flag. Clear, the first access faults (an access flag fault) unless hardware
        /// management (TCR_EL1.HA) sets it; the harness sets it in every descriptor it writes and does not set HA.
        static let accessFlag: UInt64 = 1 << 10
        /// PXN, bit 53: EL1 may not execute.
        static let privilegedExecuteNever: UInt64 = 1 << 53
        /// UXN, bit 54: EL0 may not execute.
        static let unprivilegedExecuteNever: UInt64 = 1 << 54
        /// PXNTable, bit 59 of a table descriptor: EL1 may execute nothing below it.
        static let privilegedExecuteNeverTable: UInt64 = 1 << 59
        /// UXNTable, bit 60 of a table descriptor: EL0 may execute nothing below it.
        static let unprivilegedExecuteNeverTable: UInt64 = 1 << 60
        /// APTable[0], bit 61 of a table descriptor: EL0 may access nothing below it.
        static let noEL0AccessTable: UInt64 = 1 << 61
        /// APTable[1], bit 62 of a table descriptor: nothing below it is writable.
        static let readOnlyTable: UInt64 = 1 << 62
    }

    /// The highest output address size the 4 KiB granule reaches without FEAT_LPA2 (which the harness does not use).
    package static let maximumPhysicalAddressBits = 48

    /// Creates empty tables, taking the start-level table's page from `allocator`.
    ///
    /// - Throws: `.invalidArgument` if `virtualAddressBits` is not 39 to 48 or `physicalAddressBits` not 32 to 48,
    ///   `.outOfGuestMemory` if no page is left for the table.
    package init(allocator: inout PhysicalPageAllocator, physicalAddressBits: Int, virtualAddressBits: Int = 48)
        throws(KVMError)
    {
        guard (39...48).contains(virtualAddressBits) else {
            throw .invalidArgument(
                "can't build arm64 stage-1 tables for a \(virtualAddressBits)-bit virtual address space: "
                    + "use 39 to 48 bits (4 KiB granule, TTBR0 only)")
        }
        guard (32...Self.maximumPhysicalAddressBits).contains(physicalAddressBits) else {
            throw .invalidArgument(
                "can't build arm64 stage-1 tables for a \(physicalAddressBits)-bit output address size: "
                    + "use 32 to 48 bits (4 KiB granule without FEAT_LPA2)")
        }
        root = try allocator.allocate(PhysicalPageAllocator.pageSize)
        self.physicalAddressBits = physicalAddressBits
        self.virtualAddressBits = virtualAddressBits
    }

    /// The lookup level the walk starts at for a `virtualAddressBits`-bit space with the 4 KiB granule: 0 above 39
    /// bits, 1 from 31 to 39, 2 below.
    @inline(__always)
    package static func startLevel(virtualAddressBits: Int) -> Int {
        virtualAddressBits > 39 ? 0 : virtualAddressBits > 30 ? 1 : 2
    }

    /// The low VA bit a level's index starts at: 39, 30, 21, 12 for levels 0 to 3; also log2 of the size a
    /// descriptor at that level covers.
    @inline(__always)
    static func shift(level: Int) -> UInt64 { UInt64(12 + 9 * (3 - level)) }

    @inline(__always)
    static func index(_ gva: UInt64, level: Int) -> UInt64 { (gva >> shift(level: level)) & 0x1ff }

    /// The mask of the output address bits a descriptor may hold: bits 12 to `physicalAddressBits` - 1.
    @inline(__always)
    package static func addressMask(physicalAddressBits: Int) -> UInt64 {
        let bits = UInt64(min(max(physicalAddressBits, 32), maximumPhysicalAddressBits))
        return ((1 << bits) - 1) & ~0xfff
    }

    /// Output address bits 47:`physicalAddressBits` of `descriptor`: set, the CPU raises an address size fault.
    /// (Bits 51:48 are RES0 with the 4 KiB granule without FEAT_LPA2; like the other RES0 bits they are not checked.)
    @inline(__always)
    static func addressBitsAboveOutputSize(_ descriptor: UInt64, physicalAddressBits: Int) -> UInt64 {
        let bits = UInt64(min(max(physicalAddressBits, 32), maximumPhysicalAddressBits))
        let field: UInt64 = ((1 << 48) - 1) & ~0xfff
        return descriptor & field & ~((1 << bits) - 1)
    }

    /// Maps the 4 KiB page at `gva` to `gpa`, allocating intermediate tables from `allocator`.
    ///
    /// `flags` is a permission request in x86 terms: `.writable` clears AP[2], `.user` sets AP[1] (EL0 access) and
    /// leaves UXN clear, `.noExecute` sets PXN and UXN; other flags are ignored. Without `.user`, UXN is set: AP[1]
    /// does not govern EL0 instruction fetches, UXN does. A user-writable page is never executable at EL1 (the
    /// architecture treats AP[2:1] = 0b01 as PXN). Device memory is always PXN and UXN. Every page is inner
    /// shareable with AF set.
    ///
    /// - Throws: `.guestAddressInUse` if `gva` is already mapped (or covered by a block),
    ///   `.invalidArgument` for an unaligned address or one at or above 2^`virtualAddressBits` or `gpa` at or above
    ///   2^`physicalAddressBits`, `.guestAddressOutsideMemory` if a table lies outside `memory`, `.outOfGuestMemory`
    ///   for tables.
    package func map(
        gva: UInt64, gpa: UInt64, flags: PageTableFlags, memoryType: MemoryType = .normal,
        memory: some PhysicalMemory, allocator: inout PhysicalPageAllocator
    ) throws(KVMError) {
        guard gva & 0xfff == 0, gpa & 0xfff == 0, gva >> UInt64(virtualAddressBits) == 0,
            gpa >> UInt64(physicalAddressBits) == 0
        else {
            throw .invalidArgument(
                "can't map guest-virtual \(hex(gva)) to \(hex(gpa)): not page aligned, or outside the "
                    + "\(virtualAddressBits)-bit virtual or \(physicalAddressBits)-bit physical address space")
        }
        let mask = Self.addressMask(physicalAddressBits: physicalAddressBits)
        var table = root
        for level in Self.startLevel(virtualAddressBits: virtualAddressBits)..<3 {
            let slot = table + Self.index(gva, level: level) * 8
            guard let entry = memory.readU64(gpa: slot) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
            if entry & Descriptor.valid == 0 {
                let next = try allocator.allocate(PhysicalPageAllocator.pageSize)
                guard memory.writeU64(gpa: slot, next | Descriptor.valid | Descriptor.tableOrPage) else {
                    throw .guestAddressOutsideMemory(gva: gva, gpa: slot)
                }
                table = next
            } else if entry & Descriptor.tableOrPage == 0 {
                throw .guestAddressInUse(gva: gva)
            } else {
                table = entry & mask
            }
        }
        let slot = table + Self.index(gva, level: 3) * 8
        guard let existing = memory.readU64(gpa: slot) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
        guard existing & Descriptor.valid == 0 else { throw .guestAddressInUse(gva: gva) }
        let descriptor = Self.pageDescriptor(gpa: gpa & mask, flags: flags, memoryType: memoryType)
        guard memory.writeU64(gpa: slot, descriptor) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
    }

    /// The level-3 page descriptor for `gpa` with the permissions `flags` requests (see `map`).
    package static func pageDescriptor(gpa: UInt64, flags: PageTableFlags, memoryType: MemoryType) -> UInt64 {
        var descriptor = gpa | Descriptor.valid | Descriptor.tableOrPage | Descriptor.accessFlag
            | Descriptor.innerShareable | memoryType.attributeIndex << Descriptor.attributeIndexShift
        if !flags.contains(.writable) { descriptor |= Descriptor.readOnly }
        if flags.contains(.user) { descriptor |= Descriptor.el0Access }
        if flags.contains(.noExecute) || memoryType == .device {
            descriptor |= Descriptor.privilegedExecuteNever | Descriptor.unprivilegedExecuteNever
        } else if !flags.contains(.user) {
            descriptor |= Descriptor.unprivilegedExecuteNever
        }
        return descriptor
    }

    /// Maps `size` bytes (whole pages) at `gva` to the physically contiguous range at `gpa`.
    package func map(
        gva: UInt64, gpa: UInt64, size: UInt64, flags: PageTableFlags, memoryType: MemoryType = .normal,
        memory: some PhysicalMemory, allocator: inout PhysicalPageAllocator
    ) throws(KVMError) {
        var offset: UInt64 = 0
        while offset < size {
            try map(
                gva: gva + offset, gpa: gpa + offset, flags: flags, memoryType: memoryType, memory: memory,
                allocator: &allocator)
            offset += PhysicalPageAllocator.pageSize
        }
    }

    /// Translates through these tables.
    package func translate(_ gva: UInt64, memory: some PhysicalMemory) -> Translation {
        Self.translate(
            gva, ttbr: root, physicalAddressBits: physicalAddressBits, virtualAddressBits: virtualAddressBits,
            memory: memory)
    }

    /// The guest-physical address of the start-level table in a TTBR0_EL1 value: BADDR, bits 47:1, without the
    /// ASID (bits 63:48) or CnP (bit 0), aligned to the table's size (at least 64 bytes, as the architecture
    /// requires for tables of fewer than 8 entries).
    @inline(__always)
    package static func tableAddress(ttbr: UInt64, virtualAddressBits: Int) -> UInt64 {
        let bits = min(max(virtualAddressBits, 25), 48)
        let entries: UInt64 = 1 << UInt64(bits - Int(shift(level: startLevel(virtualAddressBits: bits))))
        let alignment = max(entries * 8, 64)
        return ttbr & ((1 << 48) - 1) & ~(alignment - 1)
    }

    /// Walks the stage-1 tables whose start-level table `ttbr` (a TTBR0_EL1 value) points at, and reports where `gva`
    /// lands, with the permissions the walk grants (the caller checks them against the access).
    ///
    /// - `.mapped`: `writable` when AP[2] is clear and no table on the walk sets APTable[1]; `executable` (at EL1)
    ///   when neither PXN nor a PXNTable is set and the leaf is not EL0-writable (AP[2:1] = 0b01 implies PXN);
    ///   `user` (EL0 may access) when AP[1] is set and no table sets APTable[0]. SCTLR_EL1.WXN and PAN are not
    ///   modelled (the harness sets neither).
    /// - `.nonCanonical`: `gva` is at or above 2^`virtualAddressBits` (the TTBR1 range is disabled by EPD1).
    /// - `.notPresent(level:)`: the descriptor at that lookup level (0 to 3) is invalid, or is a block or page with
    ///   the access flag clear. The guest's own access faults there either way (a translation fault, or an access
    ///   flag fault since the harness does not enable hardware AF management), and `Translation` has no case of its
    ///   own for the latter.
    /// - `.invalid(.tableOutsideMemory(level:tableGPA:))`: the table the walk needs at that level is not in `memory`.
    /// - `.invalid(.reservedBits(level:entry:bits:))`: the descriptor's output address has bits at or above
    ///   `physicalAddressBits` (an address size fault; `bits` are those bits), or the descriptor type is reserved:
    ///   0b01 at level 3 or a block at level 0 (`bits` is then the type field, 0b01).
    ///
    /// Handles 1 GiB (level 1) and 2 MiB (level 2) blocks. Reads only through `memory`, so hostile tables cannot make
    /// the host read outside guest memory. `virtualAddressBits` is clamped to 25...48 and `physicalAddressBits` to
    /// 32...48.
    @inline(__always)
    package static func translate(
        _ gva: UInt64, ttbr: UInt64, physicalAddressBits: Int, virtualAddressBits: Int = 48,
        memory: some PhysicalMemory
    ) -> Translation {
        let vaBits = min(max(virtualAddressBits, 25), 48)
        guard gva >> UInt64(vaBits) == 0 else { return .nonCanonical }
        let mask = addressMask(physicalAddressBits: physicalAddressBits)
        let start = startLevel(virtualAddressBits: vaBits)
        var table = tableAddress(ttbr: ttbr, virtualAddressBits: vaBits)
        if table & ~(mask | 0xfff) != 0 { return .invalid(.tableOutsideMemory(level: start, tableGPA: table)) }
        var writable = true
        var executable = true
        var user = true
        for level in start...3 {
            let slot = table + index(gva, level: level) * 8
            guard let descriptor = memory.readU64(gpa: slot) else {
                return .invalid(.tableOutsideMemory(level: level, tableGPA: table))
            }
            guard descriptor & Descriptor.valid != 0 else { return .notPresent(level: level) }
            let isTableOrPage = descriptor & Descriptor.tableOrPage != 0
            if !isTableOrPage && (level == 0 || level == 3) {
                return .invalid(.reservedBits(level: level, entry: descriptor, bits: 0b01))
            }
            let outside = addressBitsAboveOutputSize(descriptor, physicalAddressBits: physicalAddressBits)
            guard outside == 0 else { return .invalid(.reservedBits(level: level, entry: descriptor, bits: outside)) }
            if isTableOrPage && level < 3 {
                writable = writable && descriptor & Descriptor.readOnlyTable == 0
                user = user && descriptor & Descriptor.noEL0AccessTable == 0
                executable = executable && descriptor & Descriptor.privilegedExecuteNeverTable == 0
                table = descriptor & mask
                continue
            }
            guard descriptor & Descriptor.accessFlag != 0 else { return .notPresent(level: level) }
            let el0Writable = descriptor & (Descriptor.el0Access | Descriptor.readOnly) == Descriptor.el0Access
            writable = writable && descriptor & Descriptor.readOnly == 0
            user = user && descriptor & Descriptor.el0Access != 0
            executable = executable && descriptor & Descriptor.privilegedExecuteNever == 0 && !el0Writable
            let offsetMask: UInt64 = (1 << shift(level: level)) - 1
            let gpa = (descriptor & mask & ~offsetMask) | (gva & offsetMask)
            return .mapped(gpa: gpa, writable: writable, executable: executable, user: user)
        }
        return .notPresent(level: 3)
    }

    /// A one-line account of `problem` in arm64 terms (`PageTableProblem.description` names x86's tables): "the
    /// level-2 translation table at guest-physical 0x3000 is outside guest memory", "the level-0 descriptor
    /// 0x... is a block, which the 4 KiB granule does not allow", "the level-3 descriptor 0x... has output address
    /// bits 0x... at or above the 40-bit output size".
    package static func describe(_ problem: PageTableProblem, physicalAddressBits: Int) -> String {
        switch problem {
        case .tableOutsideMemory(let level, let gpa):
            return "the level-\(level) translation table at guest-physical \(hex(gpa)) is outside guest memory"
        case .reservedBits(let level, let entry, let bits) where bits == 0b01:
            let kind = level == 0 ? "a block, which the 4 KiB granule does not allow at level 0" : "of reserved type 0b01"
            return "the level-\(level) descriptor \(hex(entry)) is \(kind)"
        case .reservedBits(let level, let entry, let bits):
            return "the level-\(level) descriptor \(hex(entry)) has output address bits \(hex(bits)) at or above the "
                + "\(physicalAddressBits)-bit output size (an address size fault)"
        }
    }
}
