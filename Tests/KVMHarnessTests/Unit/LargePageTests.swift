import Testing

@testable import KVMHarness

@Suite("Large pages and free guest-virtual ranges in the harness's page tables, on plain memory")
struct LargePageTests {
    func makeTables() throws -> (PageTables, BufferMemory, PhysicalPageAllocator) {
        var allocator = PhysicalPageAllocator(start: 0x1000, end: 0x40_0000)
        let tables = try PageTables(allocator: &allocator, physicalAddressBits: 48)
        return (tables, BufferMemory(size: 0x40_0000), allocator)
    }

    @Test("2 MiB and 1 GiB pages translate with the offset inside the page; overlaps and misalignment are refused")
    func largePages() throws {
        var (tables, memory, allocator) = try makeTables()
        try tables.map(gva: 0x4000_0000, gpa: 0x8000_0000, pageSize: .size1GiB, flags: [.writable], memory: memory,
                       allocator: &allocator)
        try tables.map(gva: 0x20_0000, gpa: 0x60_0000, pageSize: .size2MiB, flags: [], memory: memory,
                       allocator: &allocator)
        #expect(tables.translate(0x4123_4567, memory: memory) == .mapped(gpa: 0x8123_4567, writable: true, executable: true, user: false))
        #expect(tables.translate(0x3f_fff8, memory: memory) == .mapped(gpa: 0x7f_fff8, writable: false, executable: true, user: false))
        #expect(throws: KVMError.guestAddressInUse(gva: 0x4000_1000)) {
            try tables.map(gva: 0x4000_1000, gpa: 0, flags: [], memory: memory, allocator: &allocator)
        }
        #expect(throws: KVMError.guestAddressInUse(gva: 0x20_0000)) {
            try tables.map(gva: 0x20_0000, gpa: 0, pageSize: .size2MiB, flags: [], memory: memory, allocator: &allocator)
        }
        try tables.map(gva: 0x1000, gpa: 0, flags: [], memory: memory, allocator: &allocator)
        #expect(throws: KVMError.guestAddressInUse(gva: 0)) {
            try tables.map(gva: 0, gpa: 0, pageSize: .size2MiB, flags: [], memory: memory, allocator: &allocator)
        }
        #expect(throws: KVMError.self) {
            try tables.map(gva: 0x1000, gpa: 0, pageSize: .size2MiB, flags: [], memory: memory, allocator: &allocator)
        }
    }

    @Test("the lowest unmapped range, skipping mapped pages and whole empty tables")
    func unusedRange() throws {
        var (tables, memory, allocator) = try makeTables()
        #expect(tables.unusedRange(size: 0x3000, from: 0x1000_0000_0000, alignment: 4096, memory: memory) == 0x1000_0000_0000)
        try tables.map(gva: 0x1000_0000_1000, gpa: 0x1000, flags: [], memory: memory, allocator: &allocator)
        #expect(tables.unusedRange(size: 0x1000, from: 0x1000_0000_0000, alignment: 4096, memory: memory) == 0x1000_0000_0000)
        #expect(tables.unusedRange(size: 0x2000, from: 0x1000_0000_0000, alignment: 4096, memory: memory) == 0x1000_0000_2000)
        #expect(tables.unusedRange(size: 1 << 30, from: 0x1000_0000_0000, alignment: 1 << 30, memory: memory) == 0x1000_4000_0000)
        #expect(tables.unusedRange(size: 0x1000, from: (1 << 47) - 0x1000, alignment: 4096, memory: memory) == (1 << 47) - 0x1000)
        #expect(tables.unusedRange(size: 0x2000, from: (1 << 47) - 0x1000, alignment: 4096, memory: memory) == nil)
    }
}
