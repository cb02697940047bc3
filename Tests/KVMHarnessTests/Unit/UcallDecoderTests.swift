import Testing

@testable import KVMHarness

/// Guest memory with page tables, built on a plain buffer, for decoding ucalls without KVM.
struct FakeGuest {
    var memory = BufferMemory(size: 0x100_0000)
    var allocator = PhysicalPageAllocator(start: 0x1000, end: 0x100_0000)
    let tables: PageTables

    init() throws {
        tables = try PageTables(allocator: &allocator, physicalAddressBits: 48)
    }

    mutating func map(_ gva: UInt64, to gpa: UInt64) throws {
        try tables.map(gva: gva, gpa: gpa, flags: [.writable], memory: memory, allocator: &allocator)
    }

    func write(_ bytes: [UInt8], gpa: UInt64) { _ = bytes.withUnsafeBytes { memory.write(gpa: gpa, from: $0.baseAddress!, count: $0.count) } }
    func write(_ value: UInt64, gpa: UInt64) { memory.writeU64(gpa: gpa, value) }

    var view: GuestVirtualMemory<BufferMemory> {
        GuestVirtualMemory(memory: memory, cr3: tables.root, physicalAddressBits: 48)
    }
}

@Suite("Ucall decoding on plain memory")
struct UcallDecoderTests {
    @Test("SYNC with seven arguments")
    func sync() throws {
        var guest = try FakeGuest()
        try guest.map(0x7000_0000, to: 0x80_0000)
        guest.write(1, gpa: 0x80_0100)
        for i in 0..<7 { guest.write(UInt64(0x10 + i), gpa: 0x80_0108 + UInt64(8 * i)) }
        #expect(try UcallDecoder.decode(gva: 0x7000_0100, memory: guest.view) == .sync([0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16]))
    }

    @Test("a struct straddling a page boundary onto a non-contiguous physical page")
    func straddling() throws {
        var guest = try FakeGuest()
        try guest.map(0x7000_0000, to: 0x80_0000)
        try guest.map(0x7000_1000, to: 0x40_0000)  // the next virtual page is physically far below
        let gva: UInt64 = 0x7000_1000 - 24  // cmd and args[0..1] on the first page, the rest on the second
        guest.write(1, gpa: 0x80_1000 - 24)
        guest.write(0xa0, gpa: 0x80_1000 - 16)
        guest.write(0xa1, gpa: 0x80_1000 - 8)
        for i in 2..<7 { guest.write(UInt64(0xa0 + i), gpa: 0x40_0000 + UInt64(8 * (i - 2))) }
        #expect(try UcallDecoder.decode(gva: gva, memory: guest.view) == .sync([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6]))
    }

    // Before, both were "not mapped in the guest's page tables" at the struct's first byte.
    @Test("a struct running into an unmapped page is reported at that page; a table outside memory is named")
    func namedFailures() throws {
        var guest = try FakeGuest()
        try guest.map(0x7000_0000, to: 0x80_0000)
        guest.write(1, gpa: 0x80_0ff8)
        #expect(throws: KVMError.malformedUcall(.runsIntoUnmappedPage(gva: 0x7000_0ff8, page: 0x7000_1000))) {
            try UcallDecoder.decode(gva: 0x7000_0ff8, memory: guest.view)
        }
        // The page table (level 1) for 0x7000_0000 moved outside the 16 MiB of "RAM".
        let pde = guest.tables.root  // walk down by hand: PML4[0] -> PDPT[1] -> PD[0x180] holds the PT's address
        let pdpt = guest.memory.readU64(gpa: pde)! & 0xffff_ffff_f000
        let pd = guest.memory.readU64(gpa: pdpt + 8)! & 0xffff_ffff_f000
        guest.write(0x4000_0000 | 0x3, gpa: pd + 0x180 * 8)
        let error = KVMError.malformedUcall(
            .invalidPageTables(address: 0x7000_0010, .tableOutsideMemory(level: 1, tableGPA: 0x4000_0000)))
        #expect(throws: error) { try UcallDecoder.decode(gva: 0x7000_0010, memory: guest.view) }
        #expect(
            error.description
                == "malformed ucall: can't translate the ucall struct address 0x70000010: the page table (level 1) "
                + "at guest-physical 0x40000000 is outside guest memory")
    }

    @Test("an unmapped pointer and a pointer outside memory are typed errors")
    func badPointers() throws {
        var guest = try FakeGuest()
        #expect(throws: KVMError.malformedUcall(.unmappedPointer(gva: 0x1234_0000))) {
            try UcallDecoder.decode(gva: 0x1234_0000, memory: guest.view)
        }
        try guest.map(0x7000_0000, to: 0x8000_0000)  // beyond the 16 MiB of "RAM"
        #expect(throws: KVMError.malformedUcall(.pointerOutsideMemory(gva: 0x7000_0010, gpa: 0x8000_0010))) {
            try UcallDecoder.decode(gva: 0x7000_0010, memory: guest.view)
        }
        #expect(throws: KVMError.malformedUcall(.unmappedPointer(gva: 0x8000_0000_0000))) {
            try UcallDecoder.decode(gva: 0x8000_0000_0000, memory: guest.view)
        }
    }

    @Test("ABORT reads expression, file, line and message")
    func abort() throws {
        var guest = try FakeGuest()
        try guest.map(0x7000_0000, to: 0x80_0000)
        guest.write(2, gpa: 0x80_0000)
        guest.write(0x7000_0800, gpa: 0x80_0008)
        guest.write(0x7000_0900, gpa: 0x80_0010)
        guest.write(31, gpa: 0x80_0018)
        guest.write(Array("x == y\0".utf8), gpa: 0x80_0800)
        guest.write(Array("guest.c\0".utf8), gpa: 0x80_0900)
        guest.write(Array("left = 1\0".utf8), gpa: 0x80_0040)
        let ucall = try UcallDecoder.decode(gva: 0x7000_0000, memory: guest.view)
        #expect(
            ucall == .abort(GuestAssertion(expression: "x == y", expressionAddress: 0x7000_0800, file: "guest.c",
                fileAddress: 0x7000_0900, line: 31, message: "left = 1")))
        #expect(ucall.description == "ABORT guest.c:31: x == y: left = 1")
    }

    @Test("an ABORT whose strings are unreadable is still an ABORT")
    func abortUnreadable() throws {
        var guest = try FakeGuest()
        try guest.map(0x7000_0000, to: 0x80_0000)
        guest.write(2, gpa: 0x80_0000)
        guest.write(0xdead_0000, gpa: 0x80_0008)
        guest.write(0xbeef_0000, gpa: 0x80_0010)
        guest.write(7, gpa: 0x80_0018)
        guard case .abort(let assertion) = try UcallDecoder.decode(gva: 0x7000_0000, memory: guest.view) else {
            Issue.record("not an ABORT")
            return
        }
        #expect(assertion.expression == nil && assertion.file == nil && assertion.line == 7)
        #expect(assertion.description == "<unreadable 0xbeef0000>:7: <unreadable 0xdead0000>")
    }

    @Test("a buffer without a NUL is read to its 1024 bytes and never beyond")
    func unterminatedBuffer() throws {
        var guest = try FakeGuest()
        try guest.map(0x7000_0000, to: 0x80_0000)
        guest.write(3, gpa: 0x80_0000)
        guest.write([UInt8](repeating: UInt8(ascii: "a"), count: 2048), gpa: 0x80_0040)
        #expect(try UcallDecoder.decode(gva: 0x7000_0000, memory: guest.view) == .printf(String(repeating: "a", count: 1024)))
    }

    @Test("UNHANDLED and unknown commands")
    func otherCommands() throws {
        var guest = try FakeGuest()
        try guest.map(0x7000_0000, to: 0x80_0000)
        guest.write(5, gpa: 0x80_0000)
        guest.write(14, gpa: 0x80_0008)
        guest.write(0x40_1000, gpa: 0x80_0010)
        guest.write(2, gpa: 0x80_0018)
        guest.write(0xdead_b000, gpa: 0x80_0020)
        #expect(
            try UcallDecoder.decode(gva: 0x7000_0000, memory: guest.view)
                == .unhandled(GuestException(vector: 14, rip: 0x40_1000, errorCode: 2, cr2: 0xdead_b000)))
        guest.write(99, gpa: 0x80_0000)
        guest.write(7, gpa: 0x80_0008)
        #expect(
            try UcallDecoder.decode(gva: 0x7000_0000, memory: guest.view)
                == .unknown(command: 99, arguments: [7, 0x40_1000, 2, 0xdead_b000]))
    }
}

@Suite("Code layout planning")
struct CodeLayoutTests {
    @Test("read-only pages are shared, writable pages copied, a mixed page copied")
    func plan() {
        let segments = [
            LoadedSegment(address: 0x1000, size: 0x2500, writable: false, executable: false),  // 0x1000-0x3500
            LoadedSegment(address: 0x4000, size: 0x3000, writable: false, executable: true),  // 0x4000-0x7000
            LoadedSegment(address: 0x7d28, size: 0x1000, writable: true, executable: false),  // 0x7d28-0x8d28
        ]
        #expect(
            CodeLayout.plan(segments) == [
                PageRun(address: 0x1000, size: 0x3000, placement: .sharedReadOnly, executable: false),
                PageRun(address: 0x4000, size: 0x3000, placement: .sharedReadOnly, executable: true),
                PageRun(address: 0x7000, size: 0x2000, placement: .copied, executable: false),
            ])
    }
}

@Suite("Sequence diff")
struct UcallSequenceDiffTests {
    @Test("marks the differing rows and names the first")
    func render() {
        let text = UcallSequenceDiff.render(expected: [.sync([1]), .sync([2]), .done], observed: [.sync([1]), .sync([3])])
        #expect(
            text == """
                  #  expected    observed
                  0  SYNC [0x1]  SYNC [0x1]
                ✗ 1  SYNC [0x2]  SYNC [0x3]
                ✗ 2  DONE        -
                first difference at #1
                """)
    }
}
