import Testing

@testable import KVMHarness

/// Descriptor bits spelled out from the VMSAv8-64 layout (4 KiB granule), so the expectations below do not reuse the
/// implementation's constants: valid 1 << 0, table/page 1 << 1, AttrIndx 4:2, AP[1] 1 << 6, AP[2] 1 << 7, SH 9:8,
/// AF 1 << 10, PXN 1 << 53, UXN 1 << 54; table descriptors: PXNTable 1 << 59, UXNTable 1 << 60, APTable 62:61.
private enum Bits {
    static let table: UInt64 = 0b11
    static let block: UInt64 = 0b01
    static let page: UInt64 = 0b11
    static let af: UInt64 = 1 << 10
    static let apReadOnly: UInt64 = 1 << 7
    static let apEL0: UInt64 = 1 << 6
    static let innerShareable: UInt64 = 0b11 << 8
    static let normal: UInt64 = 1 << 2  // AttrIndx 1
    static let pxn: UInt64 = 1 << 53
    static let uxn: UInt64 = 1 << 54
    static let pxnTable: UInt64 = 1 << 59
    static let uxnTable: UInt64 = 1 << 60
    static let noEL0Table: UInt64 = 1 << 61
    static let readOnlyTable: UInt64 = 1 << 62
}

@Suite("ARM64 stage-1 tables: map and translate on plain memory")
struct ARM64Stage1PageTablesTests {
    func makeTables(virtualAddressBits: Int = 48, physicalAddressBits: Int = 48) throws
        -> (Stage1PageTables, BufferMemory, PhysicalPageAllocator)
    {
        var allocator = PhysicalPageAllocator(start: 0x1000, end: 0x40_0000)
        let tables = try Stage1PageTables(
            allocator: &allocator, physicalAddressBits: physicalAddressBits, virtualAddressBits: virtualAddressBits)
        return (tables, BufferMemory(size: 0x40_0000), allocator)
    }

    @Test("a mapped page translates with its offset and permissions, and its descriptor has the architected bits")
    func mapAndTranslate() throws {
        var (tables, memory, allocator) = try makeTables()
        #expect(tables.root == 0x1000)
        try tables.map(gva: 0x5555_1234_5000, gpa: 0x20_0000, flags: [.writable, .noExecute], memory: memory, allocator: &allocator)
        try tables.map(gva: 0xffff_f000, gpa: 0x21_0000, flags: [], memory: memory, allocator: &allocator)
        #expect(tables.translate(0x5555_1234_5abc, memory: memory) == .mapped(gpa: 0x20_0abc, writable: true, executable: false, user: false))
        #expect(tables.translate(0xffff_f010, memory: memory) == .mapped(gpa: 0x21_0010, writable: false, executable: true, user: false))
        #expect(tables.translate(0x5555_1234_6000, memory: memory) == .notPresent(level: 3))
        #expect(tables.translate(0x1000_0000_0000, memory: memory) == .notPresent(level: 0))
        #expect(tables.translate(0x40_0000_0000, memory: memory) == .notPresent(level: 1))
        #expect(tables.translate(0xc000_0000, memory: memory) == .notPresent(level: 2))
        #expect(tables.translate(1 << 48, memory: memory) == .nonCanonical)
        #expect(tables.translate(0xffff_0000_0000_0000, memory: memory) == .nonCanonical)
        // The first map allocated the level-1, -2 and -3 tables at 0x2000, 0x3000, 0x4000, in that order.
        #expect(memory.readU64(gpa: 0x1000 + (0x5555_1234_5000 >> 39 & 0x1ff) * 8) == 0x2000 | Bits.table)
        let leaf = memory.readU64(gpa: 0x4000 + (0x5555_1234_5000 >> 12 & 0x1ff) * 8)
        #expect(leaf == 0x20_0000 | Bits.page | Bits.af | Bits.innerShareable | Bits.normal | Bits.pxn | Bits.uxn)
        #expect(leaf == 0x0060_0000_0020_0707)
        _ = allocator
    }

    @Test("descriptors: user pages clear UXN, a user-writable page is not executable at EL1, device memory never executes")
    func permissionsAndMemoryTypes() throws {
        var (tables, memory, allocator) = try makeTables()
        try tables.map(gva: 0x1000, gpa: 0x20_0000, flags: [.user], memory: memory, allocator: &allocator)
        try tables.map(gva: 0x2000, gpa: 0x20_1000, flags: [.user, .writable], memory: memory, allocator: &allocator)
        try tables.map(gva: 0x3000, gpa: 0x20_2000, flags: [.writable], memoryType: .device, memory: memory, allocator: &allocator)
        // Level-3 table at 0x4000 (levels 1 and 2 at 0x2000 and 0x3000).
        #expect(memory.readU64(gpa: 0x4008) == 0x20_0000 | 0x707 | Bits.apReadOnly | Bits.apEL0)
        #expect(memory.readU64(gpa: 0x4010) == 0x20_1000 | 0x707 | Bits.apEL0)
        #expect(memory.readU64(gpa: 0x4018) == 0x20_2000 | 0x703 | Bits.pxn | Bits.uxn)  // AttrIndx 0
        #expect(tables.translate(0x1000, memory: memory) == .mapped(gpa: 0x20_0000, writable: false, executable: true, user: true))
        #expect(tables.translate(0x2000, memory: memory) == .mapped(gpa: 0x20_1000, writable: true, executable: false, user: true))
        #expect(tables.translate(0x3000, memory: memory) == .mapped(gpa: 0x20_2000, writable: true, executable: false, user: false))
        #expect(Stage1PageTables.mair == 0xff04)
        _ = allocator
    }

    @Test("a 2-page range mapped to two non-contiguous physical pages translates page by page")
    func nonContiguousPages() throws {
        var (tables, memory, allocator) = try makeTables()
        try tables.map(gva: 0x7000_0000, gpa: 0x30_0000, flags: [.writable], memory: memory, allocator: &allocator)
        try tables.map(gva: 0x7000_1000, gpa: 0x10_5000, flags: [.writable], memory: memory, allocator: &allocator)
        #expect(tables.translate(0x7000_0ff8, memory: memory) == .mapped(gpa: 0x30_0ff8, writable: true, executable: true, user: false))
        #expect(tables.translate(0x7000_1000, memory: memory) == .mapped(gpa: 0x10_5000, writable: true, executable: true, user: false))
        try tables.map(gva: 0x7100_0000, gpa: 0x38_0000, size: 0x2000, flags: [], memory: memory, allocator: &allocator)
        #expect(tables.translate(0x7100_1fff, memory: memory) == .mapped(gpa: 0x38_1fff, writable: false, executable: true, user: false))
        #expect(tables.translate(0x7100_2000, memory: memory) == .notPresent(level: 3))
    }

    @Test("mapping errors: twice, under a block, unaligned, out of range, out of memory, tables outside memory")
    func mapErrors() throws {
        var (tables, memory, allocator) = try makeTables(physicalAddressBits: 40)
        try tables.map(gva: 0x40_0000, gpa: 0x20_0000, flags: [], memory: memory, allocator: &allocator)
        #expect(throws: KVMError.guestAddressInUse(gva: 0x40_0000)) {
            try tables.map(gva: 0x40_0000, gpa: 0x20_1000, flags: [], memory: memory, allocator: &allocator)
        }
        // A 2 MiB block at level 2 covering 0x80_0000 (level-2 table at 0x3000).
        memory.writeU64(gpa: 0x3000 + 4 * 8, 0x60_0000 | Bits.block | Bits.af)
        #expect(throws: KVMError.guestAddressInUse(gva: 0x81_0000)) {
            try tables.map(gva: 0x81_0000, gpa: 0x20_1000, flags: [], memory: memory, allocator: &allocator)
        }
        for (gva, gpa) in [(0x1234 as UInt64, 0x20_0000 as UInt64), (0x5000, 0x20_0800), (1 << 48, 0x20_0000), (0x5000, 1 << 40)] {
            do {
                try tables.map(gva: gva, gpa: gpa, flags: [], memory: memory, allocator: &allocator)
                Issue.record("mapping \(hex(gva)) -> \(hex(gpa)) succeeded")
            } catch {
                guard case .invalidArgument = error else { Issue.record("\(error) for \(hex(gva)) -> \(hex(gpa))"); continue }
            }
        }
        var small = PhysicalPageAllocator(start: 0x1000, end: 0x3000)
        let cramped = try Stage1PageTables(allocator: &small, physicalAddressBits: 48)
        #expect(throws: KVMError.outOfGuestMemory(requested: 0x1000, available: 0)) {
            try cramped.map(gva: 0, gpa: 0x20_0000, flags: [], memory: BufferMemory(size: 0x4000), allocator: &small)
        }
        // The allocator hands out pages the 0x2000-byte buffer does not hold.
        var beyond = PhysicalPageAllocator(start: 0x1000, end: 0x10_0000)
        let outside = try Stage1PageTables(allocator: &beyond, physicalAddressBits: 48)
        #expect(throws: KVMError.guestAddressOutsideMemory(gva: 0, gpa: 0x2000)) {
            try outside.map(gva: 0, gpa: 0x20_0000, flags: [], memory: BufferMemory(size: 0x2000), allocator: &beyond)
        }
        for (va, pa) in [(38, 48), (49, 48), (48, 31), (48, 52)] {
            var any = PhysicalPageAllocator(start: 0x1000, end: 0x10_0000)
            #expect(throws: KVMError.self) {
                _ = try Stage1PageTables(allocator: &any, physicalAddressBits: pa, virtualAddressBits: va)
            }
        }
    }

    @Test("39-bit VAs start the walk at level 1; 40-bit VAs use a two-entry level-0 table")
    func virtualAddressSizes() throws {
        var (tables, memory, allocator) = try makeTables(virtualAddressBits: 39)
        try tables.map(gva: 0x7f_ffff_f000, gpa: 0x20_0000, flags: [.writable], memory: memory, allocator: &allocator)
        // Root is the level-1 table: its last entry (index 511) points at the level-2 table.
        #expect(memory.readU64(gpa: 0x1000 + 511 * 8) == 0x2000 | Bits.table)
        #expect(tables.translate(0x7f_ffff_f123, memory: memory) == .mapped(gpa: 0x20_0123, writable: true, executable: true, user: false))
        #expect(tables.translate(0x3f_ffff_f000, memory: memory) == .notPresent(level: 1))
        #expect(tables.translate(1 << 39, memory: memory) == .nonCanonical)

        var (wide, wideMemory, wideAllocator) = try makeTables(virtualAddressBits: 40)
        try wide.map(gva: 0x80_0000_0000, gpa: 0x20_0000, flags: [], memory: wideMemory, allocator: &wideAllocator)
        #expect(wideMemory.readU64(gpa: 0x1008) == 0x2000 | Bits.table)
        #expect(wide.translate(0x80_0000_0042, memory: wideMemory) == .mapped(gpa: 0x20_0042, writable: false, executable: true, user: false))
        #expect(wide.translate(0, memory: wideMemory) == .notPresent(level: 0))
        #expect(wide.translate(1 << 40, memory: wideMemory) == .nonCanonical)
        #expect(Stage1PageTables.startLevel(virtualAddressBits: 48) == 0)
        #expect(Stage1PageTables.startLevel(virtualAddressBits: 40) == 0)
        #expect(Stage1PageTables.startLevel(virtualAddressBits: 39) == 1)
    }

    @Test("1 GiB and 2 MiB blocks translate; the TTBR's ASID and CnP are not address bits")
    func blocks() {
        let memory = BufferMemory(size: 0x10000)
        // Level 0 at 0x1000 -> level 1 at 0x2000; L1[1] is a 1 GiB block at 0x4000_0000, read-only; L1[0] -> level 2
        // at 0x3000, whose entry 1 is a 2 MiB block at 0x60_0000, PXN.
        memory.writeU64(gpa: 0x1000, 0x2000 | Bits.table)
        memory.writeU64(gpa: 0x2000, 0x3000 | Bits.table)
        memory.writeU64(gpa: 0x2008, 0x4000_0000 | Bits.block | Bits.af | Bits.apReadOnly)
        memory.writeU64(gpa: 0x3008, 0x60_0000 | Bits.block | Bits.af | Bits.pxn)
        let ttbr: UInt64 = 0x42 << 48 | 0x1000 | 1
        let translate = { Stage1PageTables.translate($0, ttbr: ttbr, physicalAddressBits: 40, memory: memory) }
        #expect(translate(0x4123_4567) == .mapped(gpa: 0x4123_4567, writable: false, executable: true, user: false))
        #expect(translate(0x21_2345) == .mapped(gpa: 0x61_2345, writable: true, executable: false, user: false))
        #expect(translate(0x40_2345) == .notPresent(level: 2))
    }

    @Test("permissions along the walk: APTable[1] makes read-only, APTable[0] supervisor-only, PXNTable non-executable")
    func tablePermissions() {
        let memory = BufferMemory(size: 0x10000)
        // L0[0] -> L1 0x2000 -> L2 0x3000. L2[0] -> L3 0x4000 (no restriction), L2[1] -> L3 0x5000 with APTable[1],
        // L2[2] -> L3 0x6000 with APTable[0], L2[3] -> L3 0x7000 with PXNTable and UXNTable. In each level-3 table,
        // entry 0 is a user read-only page at 0x8000 (AP[2:1] = 0b11) and entry 1 a user-writable page at 0x9000
        // (AP[2:1] = 0b01, which the architecture never lets EL1 execute).
        memory.writeU64(gpa: 0x1000, 0x2000 | Bits.table)
        memory.writeU64(gpa: 0x2000, 0x3000 | Bits.table)
        memory.writeU64(gpa: 0x3000, 0x4000 | Bits.table)
        memory.writeU64(gpa: 0x3008, 0x5000 | Bits.table | Bits.readOnlyTable)
        memory.writeU64(gpa: 0x3010, 0x6000 | Bits.table | Bits.noEL0Table)
        memory.writeU64(gpa: 0x3018, 0x7000 | Bits.table | Bits.pxnTable | Bits.uxnTable)
        let userReadOnly = 0x8000 | Bits.page | Bits.af | Bits.apEL0 | Bits.apReadOnly
        let userWritable = 0x9000 | Bits.page | Bits.af | Bits.apEL0
        for table: UInt64 in [0x4000, 0x5000, 0x6000, 0x7000] {
            memory.writeU64(gpa: table, userReadOnly)
            memory.writeU64(gpa: table + 8, userWritable)
        }
        let translate = { Stage1PageTables.translate($0, ttbr: 0x1000, physicalAddressBits: 48, memory: memory) }
        #expect(translate(0x0000_0123) == .mapped(gpa: 0x8123, writable: false, executable: true, user: true))
        #expect(translate(0x0000_1123) == .mapped(gpa: 0x9123, writable: true, executable: false, user: true))
        #expect(translate(0x0020_1123) == .mapped(gpa: 0x9123, writable: false, executable: false, user: true))
        #expect(translate(0x0040_0123) == .mapped(gpa: 0x8123, writable: false, executable: true, user: false))
        #expect(translate(0x0060_0123) == .mapped(gpa: 0x8123, writable: false, executable: false, user: true))
    }

    @Test("every invalid case: tables outside memory, address size, reserved descriptor types; AF clear is not present")
    func invalidTables() {
        let memory = BufferMemory(size: 0x10000)
        memory.writeU64(gpa: 0x1000, 0x2000 | Bits.table)
        memory.writeU64(gpa: 0x1008, 0x100_0000 | Bits.table)  // a level-1 table beyond the buffer
        memory.writeU64(gpa: 0x1010, 0x100_0000_0000 | Bits.table)  // bit 40: above a 40-bit output size
        memory.writeU64(gpa: 0x1018, 0x4000_0000 | Bits.block | Bits.af)  // a block at level 0
        memory.writeU64(gpa: 0x2000, 0x3000 | Bits.table)
        memory.writeU64(gpa: 0x3000, 0x4000 | Bits.table)
        memory.writeU64(gpa: 0x4000, 0x8000 | Bits.block | Bits.af)  // reserved type 0b01 at level 3
        memory.writeU64(gpa: 0x4008, 0x9000 | Bits.page)  // AF clear
        memory.writeU64(gpa: 0x4010, 0xff_0000_a000 | Bits.page | Bits.af)  // fine at 40 bits
        memory.writeU64(gpa: 0x4018, 0x1ff_0000_a000 | Bits.page | Bits.af)  // bit 40 set
        let translate = { Stage1PageTables.translate($0, ttbr: 0x1000, physicalAddressBits: 40, memory: memory) }
        let l0 = { (index: UInt64) in index << 39 }
        #expect(translate(l0(1)) == .invalid(.tableOutsideMemory(level: 1, tableGPA: 0x100_0000)))
        #expect(translate(l0(2)) == .invalid(.reservedBits(level: 0, entry: 0x100_0000_0003, bits: 0x100_0000_0000)))
        #expect(translate(l0(3)) == .invalid(.reservedBits(level: 0, entry: 0x4000_0401, bits: 0b01)))
        #expect(translate(0x0000) == .invalid(.reservedBits(level: 3, entry: 0x8401, bits: 0b01)))
        #expect(translate(0x1000) == .notPresent(level: 3))
        #expect(translate(0x2000) == .mapped(gpa: 0xff_0000_a000, writable: true, executable: true, user: false))
        #expect(translate(0x3000) == .invalid(.reservedBits(level: 3, entry: 0x1ff_0000_a403, bits: 0x100_0000_0000)))
        // The TTBR itself: outside memory, or above the output size.
        #expect(Stage1PageTables.translate(0, ttbr: 0x20_0000, physicalAddressBits: 40, memory: memory)
            == .invalid(.tableOutsideMemory(level: 0, tableGPA: 0x20_0000)))
        #expect(Stage1PageTables.translate(0, ttbr: 0x100_0000_1000, physicalAddressBits: 40, memory: memory)
            == .invalid(.tableOutsideMemory(level: 0, tableGPA: 0x100_0000_1000)))
        #expect(Stage1PageTables.describe(.reservedBits(level: 0, entry: 0x4000_0401, bits: 1), physicalAddressBits: 40)
            == "the level-0 descriptor 0x40000401 is a block, which the 4 KiB granule does not allow at level 0")
        #expect(Stage1PageTables.describe(.tableOutsideMemory(level: 1, tableGPA: 0x100_0000), physicalAddressBits: 40)
            == "the level-1 translation table at guest-physical 0x1000000 is outside guest memory")
    }

    @Test("hostile tables: descriptors pointing outside memory or back at their own table end the walk inside memory")
    func hostileTables() {
        let memory = BufferMemory(size: 0x2000)
        // Every level's entry 0 points back at the same table; at level 3 it is a page descriptor (0b11) without AF.
        memory.writeU64(gpa: 0x1000, 0x1000 | Bits.table)
        #expect(Stage1PageTables.translate(0x0, ttbr: 0x1000, physicalAddressBits: 48, memory: memory) == .notPresent(level: 3))
        memory.writeU64(gpa: 0x1000, 0x1000 | Bits.table | Bits.af)
        #expect(Stage1PageTables.translate(0x0, ttbr: 0x1000, physicalAddressBits: 48, memory: memory)
            == .mapped(gpa: 0x1000, writable: true, executable: true, user: false))
        // Bits below the table's alignment (CnP, bit 0, and BADDR's low bits) do not move the table.
        #expect(Stage1PageTables.translate(0x0, ttbr: 0x1ffd, physicalAddressBits: 48, memory: memory)
            == .mapped(gpa: 0x1000, writable: true, executable: true, user: false))
        // The largest table address a 48-bit descriptor can hold, and one just below the buffer's end: both outside.
        memory.writeU64(gpa: 0x1008, 0xffff_ffff_f000 | Bits.table)
        #expect(Stage1PageTables.translate(1 << 39, ttbr: 0x1000, physicalAddressBits: 48, memory: memory)
            == .invalid(.tableOutsideMemory(level: 1, tableGPA: 0xffff_ffff_f000)))
        #expect(Stage1PageTables.translate(0x1ff << 39, ttbr: 0x2000, physicalAddressBits: 48, memory: memory)
            == .invalid(.tableOutsideMemory(level: 0, tableGPA: 0x2000)))
    }
}
