import Testing

@testable import KVMHarness

@Suite("Page tables: map and translate on plain memory")
struct PageTablesTests {
    func makeTables() throws -> (PageTables, BufferMemory, PhysicalPageAllocator) {
        var allocator = PhysicalPageAllocator(start: 0x1000, end: 0x40_0000)
        let tables = try PageTables(allocator: &allocator, physicalAddressBits: 48)
        return (tables, BufferMemory(size: 0x40_0000), allocator)
    }

    @Test("a mapped page translates with its offset and permissions")
    func mapAndTranslate() throws {
        var (tables, memory, allocator) = try makeTables()
        try tables.map(gva: 0x5555_1234_5000, gpa: 0x20_0000, flags: [.writable, .noExecute], memory: memory, allocator: &allocator)
        try tables.map(gva: 0xffff_ff80_0000_0000, gpa: 0x21_0000, flags: [], memory: memory, allocator: &allocator)
        #expect(tables.translate(0x5555_1234_5abc, memory: memory) == .mapped(gpa: 0x20_0abc, writable: true, executable: false, user: false))
        #expect(tables.translate(0xffff_ff80_0000_0010, memory: memory) == .mapped(gpa: 0x21_0010, writable: false, executable: true, user: false))
        #expect(tables.translate(0x5555_1234_6000, memory: memory) == .notPresent(level: 1))
        #expect(tables.translate(0x1000_0000_0000, memory: memory) == .notPresent(level: 4))
        #expect(tables.translate(0x8000_0000_0000, memory: memory) == .nonCanonical)
        _ = allocator
    }

    @Test("mapping a page twice is an error")
    func doubleMap() throws {
        var (tables, memory, allocator) = try makeTables()
        try tables.map(gva: 0x40_0000, gpa: 0x20_0000, flags: [], memory: memory, allocator: &allocator)
        #expect(throws: KVMError.guestAddressInUse(gva: 0x40_0000)) {
            try tables.map(gva: 0x40_0000, gpa: 0x20_1000, flags: [], memory: memory, allocator: &allocator)
        }
    }

    @Test("large pages: 2 MiB and 1 GiB entries translate")
    func largePages() throws {
        let memory = BufferMemory(size: 0x10000)
        // PML4 at 0x1000 -> PDPT at 0x2000; PDPT[1] is a 1 GiB page at 0x4000_0000; PDPT[0] -> PD at 0x3000,
        // PD[1] is a 2 MiB page at 0x60_0000.
        memory.writeU64(gpa: 0x1000, 0x2000 | 0x3)
        memory.writeU64(gpa: 0x2000, 0x3000 | 0x3)
        memory.writeU64(gpa: 0x2008, 0x4000_0000 | 0x83)
        memory.writeU64(gpa: 0x3008, 0x60_0000 | 0x83)
        let translate = { PageTables.translate($0, cr3: 0x1000, physicalAddressBits: 48, memory: memory) }
        #expect(translate(0x4123_4567) == .mapped(gpa: 0x4123_4567, writable: true, executable: true, user: false))
        #expect(translate(0x21_2345) == .mapped(gpa: 0x61_2345, writable: true, executable: true, user: false))
    }

    @Test("user is the AND of U/S along the walk: a user leaf under a supervisor table is supervisor-only")
    func userBit() {
        let memory = BufferMemory(size: 0x10000)
        // PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000, all with U/S, except PD[1], a table without it.
        memory.writeU64(gpa: 0x1000, 0x2000 | 0x7)
        memory.writeU64(gpa: 0x2000, 0x3000 | 0x7)
        memory.writeU64(gpa: 0x3000, 0x4000 | 0x7)
        memory.writeU64(gpa: 0x3008, 0x5000 | 0x3)
        memory.writeU64(gpa: 0x4000, 0x8000 | 0x5)  // user, read-only
        memory.writeU64(gpa: 0x5000, 0x9000 | 0x7)  // user, writable, but under a supervisor-only table
        let translate = { PageTables.translate($0, cr3: 0x1000, physicalAddressBits: 48, memory: memory) }
        #expect(translate(0x0123) == .mapped(gpa: 0x8123, writable: false, executable: true, user: true))
        #expect(translate(0x20_0456) == .mapped(gpa: 0x9456, writable: true, executable: true, user: false))
    }

    @Test("tables pointing outside memory are reported, never followed")
    func corruptTables() {
        let memory = BufferMemory(size: 0x3000)
        memory.writeU64(gpa: 0x1000, 0xdead_0000 | 0x3)
        #expect(
            PageTables.translate(0x1000, cr3: 0x1000, physicalAddressBits: 48, memory: memory)
                == .invalid(.tableOutsideMemory(level: 3, tableGPA: 0xdead_0000)))
        #expect(
            PageTables.translate(0x1000, cr3: 0x9999_0000, physicalAddressBits: 48, memory: memory)
                == .invalid(.tableOutsideMemory(level: 4, tableGPA: 0x9999_0000)))
    }

    // Before, the walk followed these entries: address bits above MAXPHYADDR were dropped, and a PS bit in a PML4E
    // was ignored, so the host decoded ucalls through pointers the guest itself would fault on.
    @Test("entries with reserved bits stop the walk, naming the level")
    func reservedBits() {
        let memory = BufferMemory(size: 0x10000)
        // PML4 at 0x1000 -> PDPT at 0x2000 -> PD at 0x3000 -> PT at 0x4000 -> page 0x5000 (for gva 0).
        memory.writeU64(gpa: 0x1000, 0x2000 | 0x3)
        memory.writeU64(gpa: 0x2000, 0x3000 | 0x3)
        memory.writeU64(gpa: 0x3000, 0x4000 | 0x3)
        memory.writeU64(gpa: 0x4000, 0x5000 | 0x3)
        let translate = { PageTables.translate($0, cr3: 0x1000, physicalAddressBits: 39, memory: memory) }
        #expect(translate(0x123) == .mapped(gpa: 0x5123, writable: true, executable: true, user: false))
        // Bit 40 in the PTE (MAXPHYADDR 39): before, it was masked off and the walk landed on 0x5000.
        memory.writeU64(gpa: 0x4000, 1 << 40 | 0x5000 | 0x3)
        #expect(translate(0x123) == .invalid(.reservedBits(level: 1, entry: 1 << 40 | 0x5003, bits: 1 << 40)))
        memory.writeU64(gpa: 0x4000, 0x5000 | 0x3)
        // Bit 51 in the PDE.
        memory.writeU64(gpa: 0x3000, 1 << 51 | 0x4000 | 0x3)
        #expect(translate(0x123) == .invalid(.reservedBits(level: 2, entry: 1 << 51 | 0x4003, bits: 1 << 51)))
        memory.writeU64(gpa: 0x3000, 0x4000 | 0x3)
        // Bits 62:52 are ignored (or protection keys) and bit 63 is XD: not reserved.
        memory.writeU64(gpa: 0x4000, 0x7ff0_0000_0000_0000 | 0x5000 | 0x3)
        #expect(translate(0x123) == .mapped(gpa: 0x5123, writable: true, executable: true, user: false))
        memory.writeU64(gpa: 0x4000, 0x5000 | 0x3)
        // PS in the PML4E: there are no 512 GiB pages.
        memory.writeU64(gpa: 0x1000, 0x2000 | 0x83)
        #expect(translate(0x123) == .invalid(.reservedBits(level: 4, entry: 0x2083, bits: 0x80)))
        memory.writeU64(gpa: 0x1000, 0x2000 | 0x3)
        // A 1 GiB page whose address is not 1 GiB aligned (bit 13..29 set), and a 2 MiB page not 2 MiB aligned.
        memory.writeU64(gpa: 0x2000, 0x4000_2000 | 0x83)
        #expect(translate(0x123) == .invalid(.reservedBits(level: 3, entry: 0x4000_2083, bits: 0x2000)))
        memory.writeU64(gpa: 0x2000, 0x3000 | 0x3)
        memory.writeU64(gpa: 0x3000, 0x60_2000 | 0x83)
        #expect(translate(0x123) == .invalid(.reservedBits(level: 2, entry: 0x60_2083, bits: 0x2000)))
        // Bit 12 of a large-page entry is PAT, not an address bit: allowed.
        memory.writeU64(gpa: 0x3000, 0x60_0000 | 0x1000 | 0x83)
        #expect(translate(0x123) == .mapped(gpa: 0x60_0123, writable: true, executable: true, user: false))
        #expect(
            PageTableProblem.reservedBits(level: 4, entry: 0x2083, bits: 0x80).description
                == "the PML4 entry (level 4) 0x2083 sets reserved bits 0x80")
        #expect(
            PageTableProblem.tableOutsideMemory(level: 2, tableGPA: 0xdead_0000).description
                == "the page directory (level 2) at guest-physical 0xdead0000 is outside guest memory")
    }

    @Test("entry address bits above MAXPHYADDR are masked off")
    func addressMask() {
        #expect(PageTables.addressMask(physicalAddressBits: 48) == 0x0000_ffff_ffff_f000)
        #expect(PageTables.addressMask(physicalAddressBits: 36) == 0x0000_000f_ffff_f000)
    }
}
