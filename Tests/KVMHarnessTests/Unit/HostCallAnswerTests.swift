import Testing

@testable import KVMHarness

@Suite("Host-call answers and privilege checks on plain memory")
struct HostCallAnswerTests {
    /// A host call 0x100 with args [7] and no buffer, in a struct at 0x10000 mapped with `flags`.
    func makeCall(flags: PageTableFlags, userAccess: Bool = false) throws -> GuestVirtualMemory<BufferMemory> {
        try makeTables(flags: flags, userAccess: userAccess).0
    }

    func makeTables(flags: PageTableFlags, userAccess: Bool) throws -> (GuestVirtualMemory<BufferMemory>, PageTables) {
        var allocator = PhysicalPageAllocator(start: 0x1000, end: 0x10_0000)
        let memory = BufferMemory(size: 0x40_0000)
        let tables = try PageTables(allocator: &allocator, physicalAddressBits: 48)
        try tables.map(gva: 0x10000, gpa: 0x20_0000, flags: flags, memory: memory, allocator: &allocator)
        memory.writeU64(gpa: 0x20_0000, 0x100)
        memory.writeU64(gpa: 0x20_0008, 7)
        return (GuestVirtualMemory(memory: memory, cr3: tables.root, physicalAddressBits: 48, userAccess: userAccess), tables)
    }

    func answer(_ view: GuestVirtualMemory<BufferMemory>, handler: HostCallHandler) throws -> Ucall {
        let (command, arguments) = try UcallDecoder.readHeader(gva: 0x10000, memory: view)
        return try HostCallAnswer.answer(
            command: command, arguments: arguments, gva: 0x10000, vcpu: 0, memory: view, handler: handler)
    }

    @Test("the answer is written into args and nowhere else")
    func answerWritten() throws {
        let view = try makeCall(flags: [.writable])
        #expect(try answer(view) { $0.arguments[0] = 42; $0.arguments[6] = 9 } == .hostCall(command: 0x100, arguments: [7]))
        #expect(view.memory.readU64(gpa: 0x20_0000) == 0x100)
        #expect(view.memory.readU64(gpa: 0x20_0008) == 42)
        #expect(view.memory.readU64(gpa: 0x20_0038) == 9)
        #expect(view.memory.readU64(gpa: 0x20_0040) == 0)
    }

    @Test("an answer to a struct the guest's tables map read-only is an error saying so; no answer needs no write")
    func readOnlyStruct() throws {
        let view = try makeCall(flags: [])
        #expect(throws: KVMError.malformedUcall(.readOnlyPage(gva: 0x10008))) { try answer(view) { $0.arguments[0] = 1 } }
        #expect(view.memory.readU64(gpa: 0x20_0008) == 7)
        #expect(try answer(view) { _ in } == .hostCall(command: 0x100, arguments: [7]))
    }

    @Test("a user-mode ucall reaches user pages only")
    func userAccess() throws {
        let supervisorPage = try makeCall(flags: [.writable], userAccess: true)
        #expect(throws: KVMError.malformedUcall(.supervisorOnlyPage(gva: 0x10000))) {
            try UcallDecoder.decode(gva: 0x10000, memory: supervisorPage)
        }
        let (userPage, tables) = try makeTables(flags: [.writable, .user], userAccess: true)
        // The harness's intermediate tables lack U/S: a user leaf under them is still supervisor-only.
        #expect(throws: KVMError.malformedUcall(.supervisorOnlyPage(gva: 0x10000))) {
            try UcallDecoder.decode(gva: 0x10000, memory: userPage)
        }
        try tables.allowUserAccess(gva: 0x10000, memory: userPage.memory)
        #expect(try UcallDecoder.decode(gva: 0x10000, memory: userPage) == .unknown(command: 0x100, arguments: [7]))
    }
}
