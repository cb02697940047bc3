import KVMHarnessGuest
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

// The hostile-guest catalogue (issue 13), beside the first cases in HostileGuestTests.swift: each guest misuses the
// ucall ABI, hands the host a bad pointer, or has page tables the test corrupted on its behalf (the harness's tables
// are not mapped in the guest, so the test does the rewriting a guest with its own tables would do). Each case
// asserts the typed error or report, then makes and runs a normal VM in the same process.

/// A guest-virtual region no guest code, stack or harness structure uses: its own PML4 entry (index 64), so
/// corrupting its tables touches nothing else.
private let scratch: UInt64 = 0x2000_0000_0000

/// The guest-physical address of the entry at `level` (4 = PML4) that the harness's tables use for `gva`.
private func entrySlot(_ vm: VirtualMachine, _ gva: UInt64, level: Int) -> UInt64 {
    let mask = PageTables.addressMask(physicalAddressBits: vm.physicalAddressBits)
    var table = vm.pageTables.root
    for above in stride(from: 4, to: level, by: -1) {
        table = vm.memslots.readU64(gpa: table + PageTables.index(gva, level: above) * 8)! & mask
    }
    return table + PageTables.index(gva, level: level) * 8
}

/// Rewrites the entry at `level` for `gva` with `change`.
private func rewriteEntry(_ vm: VirtualMachine, _ gva: UInt64, level: Int, _ change: (UInt64) -> UInt64) {
    let slot = entrySlot(vm, gva, level: level)
    _ = vm.memslots.writeU64(gpa: slot, change(vm.memslots.readU64(gpa: slot)!))
}

/// Runs a VM whose guest makes a ucall with `pointer` and returns the error the first step throws.
private func ucallError(pointer: UInt64, prepare: (VirtualMachine) throws -> Void = { _ in }) throws -> KVMError? {
    let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_points_at_host), arguments: [pointer])
    try prepare(vm)
    do {
        let ucall = try vm.vcpus[0].nextUcall()
        Issue.record("expected a malformed ucall, got \(ucall)")
        return nil
    } catch {
        return error
    }
}

/// The same process makes and runs a normal VM afterwards: nothing the hostile guest did outlives its VM.
func expectNormalVMRuns(sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let report = try await VirtualMachine(entry: GuestFunction(guest_sync_done), arguments: [0x600d]).run()
    #expect(report.vcpus[0].outcome == .done, sourceLocation: sourceLocation)
    #expect(report.vcpus[0].checkpoints == [.sync([0x600d]), .done], sourceLocation: sourceLocation)
}

@Suite("Hostile guests: the ucall ABI misused, bad pointers, corrupt page tables, broken CPU state", .requiresKVM)
struct HostileUcallTests {
    // MARK: The transport misused

    @Test("reading the ucall MMIO address is a malformed ucall (read, 8 bytes)")
    func readUcallAddress() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_ucall_read)).run()
        #expect(report.vcpus[0].outcome == .error(.malformedUcall(.read(size: 8))))
        try await expectNormalVMRuns()
    }

    @Test("a 1-, 2- or 4-byte store to the ucall address is a malformed ucall naming the size", arguments: [1, 2, 4])
    func narrowWrite(size: Int) async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_narrow_write), arguments: [UInt64(size)])
        let report = await vm.run()
        #expect(report.vcpus[0].outcome == .error(.malformedUcall(.wrongSize(size))))
        try await expectNormalVMRuns()
    }

    @Test("an OUT to the ucall port is not a ucall: the run ends on the port write")
    func portOut() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_ucall_port_out)).run()
        guard case .faulted(.io(let access)) = report.vcpus[0].outcome else {
            Issue.record("expected an IO exit, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(access.port == VCPU.ucallPort && access.isOut && access.size == 1 && access.data == 0x5a, "\(access)")
        try await expectNormalVMRuns()
    }

    // MARK: Bad pointers

    @Test("a null ucall pointer is unmapped")
    func nullPointer() async throws {
        #expect(try ucallError(pointer: 0) == .malformedUcall(.unmappedPointer(gva: 0)))
        try await expectNormalVMRuns()
    }

    @Test("a non-canonical ucall pointer is unmapped, never walked")
    func nonCanonical() async throws {
        let pointer: UInt64 = 0x8000_0000_0000_1000
        #expect(try ucallError(pointer: pointer) == .malformedUcall(.unmappedPointer(gva: pointer)))
        try await expectNormalVMRuns()
    }

    @Test("a pointer mapped to a guest-physical address outside every memslot")
    func outsideMemslots() async throws {
        let far: UInt64 = 0x40_0000_0000
        let error = try ucallError(pointer: scratch + 0x10) { try $0.map(gva: scratch, gpa: far, size: 4096) }
        #expect(error == .malformedUcall(.pointerOutsideMemory(gva: scratch + 0x10, gpa: far + 0x10)))
        try await expectNormalVMRuns()
    }

    @Test("a pointer into the MMIO hole (the local APIC page) is outside guest memory")
    func mmioHole() async throws {
        let apic: UInt64 = 0xfee0_0000
        let error = try ucallError(pointer: scratch + 0x30) { try $0.map(gva: scratch, gpa: apic, size: 4096) }
        #expect(error == .malformedUcall(.pointerOutsideMemory(gva: scratch + 0x30, gpa: apic + 0x30)))
        try await expectNormalVMRuns()
    }

    @Test("a struct running into an unmapped page is reported at that page")
    func runsIntoUnmappedPage() async throws {
        let pointer = scratch + 0x1000 - 16
        let error = try ucallError(pointer: pointer) { try $0.allocate(gva: scratch, size: 4096) }
        #expect(error == .malformedUcall(.runsIntoUnmappedPage(gva: pointer, page: scratch + 0x1000)))
        #expect(error?.description.contains("runs into \(hex(scratch + 0x1000))") == true, "\(String(describing: error))")
        try await expectNormalVMRuns()
    }

    @Test("a struct running off the end of guest memory: the next page maps past the last memslot")
    func runsOffEndOfMemory() async throws {
        let pointer = scratch + 0x1000 - 16
        var end: UInt64 = 0
        let error = try ucallError(pointer: pointer) { vm in
            end = vm.configuration.memorySize
            try vm.map(gva: scratch, gpa: end - 0x1000, size: 0x1000)  // the last page of RAM
            try vm.map(gva: scratch + 0x1000, gpa: end, size: 0x1000)  // the first byte past it
        }
        #expect(error == .malformedUcall(.pointerOutsideMemory(gva: pointer, gpa: end)))
        try await expectNormalVMRuns()
    }

    @Test("a pointer whose page table lives outside guest memory names the table")
    func tableOutsideMemory() async throws {
        let error = try ucallError(pointer: scratch + 0x40) { vm in
            try vm.allocate(gva: scratch, size: 4096)
            rewriteEntry(vm, scratch, level: 2) { _ in 0x40_0000_0000 | 0x3 }
        }
        #expect(
            error
                == .malformedUcall(
                    .invalidPageTables(address: scratch + 0x40, .tableOutsideMemory(level: 1, tableGPA: 0x40_0000_0000))))
        try await expectNormalVMRuns()
    }

    // MARK: Page tables rewritten

    @Test("a self-referencing PML4 entry: the walk ends after four levels, on the PML4 page itself")
    func selfReferencing() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_send_struct), arguments: [0])
        let index = PageTables.index(scratch, level: 4)
        rewriteEntry(vm, scratch, level: 4) { _ in vm.pageTables.root | 0x3 }
        // Every level's index is the recursive slot: the "page" reached is the PML4.
        let pointer = index << 39 | index << 30 | index << 21 | index << 12
        try vm.vcpus[0].setRegisters({ var r = try vm.vcpus[0].registers(); r.rdi = pointer; return r }())
        let words = (0..<8).map { vm.memslots.readU64(gpa: vm.pageTables.root + UInt64($0) * 8)! }
        var arguments = UcallArguments()
        for i in 0..<7 { arguments[i] = words[i + 1] }
        let ucall = try vm.vcpus[0].nextUcall()
        #expect(ucall == (words[0] == 0 ? .none(arguments) : .unknown(command: words[0], arguments: arguments)))
        try await expectNormalVMRuns()
    }

    @Test("an entry with an address bit at MAXPHYADDR is refused at its level, not followed")
    func reservedAddressBit() async throws {
        var bit: UInt64 = 0
        let error = try ucallError(pointer: scratch + 0x50) { vm in
            try #require(vm.physicalAddressBits < 52)
            bit = 1 << UInt64(vm.physicalAddressBits)
            try vm.allocate(gva: scratch, size: 4096)
            rewriteEntry(vm, scratch, level: 1) { $0 | bit }
        }
        guard case .malformedUcall(.invalidPageTables(let address, .reservedBits(let level, _, let bits)))? = error
        else {
            Issue.record("expected reserved bits, got \(String(describing: error))")
            return
        }
        #expect(address == scratch + 0x50 && level == 1 && bits == bit)
        try await expectNormalVMRuns()
    }

    @Test("a large-page bit in a PML4 entry is refused: there are no 512 GiB pages")
    func largePageInPML4() async throws {
        let error = try ucallError(pointer: scratch + 0x60) { vm in
            try vm.allocate(gva: scratch, size: 4096)
            rewriteEntry(vm, scratch, level: 4) { $0 | PageTableFlags.largePage.rawValue }
        }
        guard case .malformedUcall(.invalidPageTables(_, .reservedBits(let level, _, let bits)))? = error else {
            Issue.record("expected reserved bits, got \(String(describing: error))")
            return
        }
        #expect(level == 4 && bits == PageTableFlags.largePage.rawValue)
        #expect(error?.description.contains("the PML4 entry (level 4)") == true, "\(String(describing: error))")
        try await expectNormalVMRuns()
    }

    @Test("a 2 MiB page whose address is not 2 MiB aligned sets reserved bits in the page directory entry")
    func misalignedLargePage() async throws {
        let error = try ucallError(pointer: scratch + 0x70) { vm in
            try vm.allocate(gva: scratch, size: 4096)
            rewriteEntry(vm, scratch, level: 2) { _ in 0x20_2000 | 0x83 }
        }
        guard case .malformedUcall(.invalidPageTables(_, .reservedBits(let level, _, let bits)))? = error else {
            Issue.record("expected reserved bits, got \(String(describing: error))")
            return
        }
        #expect(level == 2 && bits == 0x2000)
        try await expectNormalVMRuns()
    }

    // MARK: Strings

    @Test("ABORT with unmapped expression and file pointers is still an ABORT, the strings absent")
    func abortUnmappedStrings() async throws {
        let report = try await VirtualMachine(
            entry: GuestFunction(guest_abort_strings), arguments: [0xdead_0000, 0xbeef_0000]
        ).run()
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.expression == nil && assertion.expressionAddress == 0xdead_0000)
        #expect(assertion.file == nil && assertion.fileAddress == 0xbeef_0000)
        #expect(assertion.line == 42)
        try await expectNormalVMRuns()
    }

    @Test("ABORT with unterminated strings: each read stops at the unmapped page")
    func abortUnterminatedStrings() async throws {
        let vm = try VirtualMachine(
            entry: GuestFunction(guest_abort_strings), arguments: [scratch + 0x800, scratch + 0xff0])
        try vm.allocate(gva: scratch, size: 4096)
        try vm.write(contentsOf: [UInt8](repeating: UInt8(ascii: "x"), count: 4096), at: scratch)
        let report = await vm.run()
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.expression == String(repeating: "x", count: 0x800))
        #expect(assertion.file == String(repeating: "x", count: 0x10))
        try await expectNormalVMRuns()
    }

    @Test("PRINTF with 1024 bytes and no NUL: the message stops at the buffer's end")
    func printfUnterminated() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_printf_unterminated))
        let expected = String((0..<1024).map { Character(Unicode.Scalar(UInt8(ascii: "A") + UInt8($0 % 26))) })
        #expect(try vm.vcpus[0].nextUcall() == .printf(expected))
        #expect(try vm.vcpus[0].nextUcall() == .done)
        try await expectNormalVMRuns()
    }

    @Test("PRINTF whose buffer runs into an unmapped page: the message is what was readable")
    func printfRunsIntoUnmappedPage() async throws {
        let pointer = scratch + 0x1000 - UInt64(UcallDecoder.bufferOffset) - 16
        let vm = try VirtualMachine(entry: GuestFunction(guest_send_struct), arguments: [pointer])
        try vm.allocate(gva: scratch, size: 4096)
        try vm.write(UInt64(UCALL_PRINTF), at: pointer)
        try vm.write(contentsOf: Array("hello, unmapped!".utf8), at: pointer + UInt64(UcallDecoder.bufferOffset))
        #expect(try vm.vcpus[0].nextUcall() == .printf("hello, unmapped!"))
        #expect(try vm.vcpus[0].nextUcall() == .done)
        try await expectNormalVMRuns()
    }

    @Test("unknown commands, up to 2^64-1, are reported with their number and arguments; the run goes on",
          arguments: [UInt64(UCALL_UNHANDLED) + 1, 0x8000_0000_0000_0000, .max])
    func unknownCommand(command: UInt64) async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_unknown_command), arguments: [command])
        #expect(try vm.vcpus[0].nextUcall() == .unknown(command: command, arguments: [1, 2, 3]))
        #expect(try vm.vcpus[0].nextUcall() == .done)
        try await expectNormalVMRuns()
    }

    // MARK: Broken CPU state

    @Test("turning paging off in 64-bit mode is a #GP the guest reports")
    func pagingOff() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_paging_off)).run()
        guard case .failed(.unhandled(let exception)) = report.vcpus[0].outcome else {
            Issue.record("expected UNHANDLED, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(exception.vector == 13)
        try await expectNormalVMRuns()
    }

    @Test("executing at the ucall address is a #PF on the fetch: the harness maps the ucall page no-execute")
    func executeUcallAddress() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_execute_ucall_address))
        let report = await vm.run(RunOptions(deadline: .seconds(10)))
        guard case .failed(.unhandled(let exception)) = report.vcpus[0].outcome else {
            Issue.record("expected UNHANDLED, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(exception.vector == 14 && exception.rip == vm.ucallAddress && exception.cr2 == vm.ucallAddress)
        #expect(exception.errorCode == 0x11, "present, instruction fetch")
        try await expectNormalVMRuns()
    }

    @Test("a vCPU with CS.L and CS.D both set (invalid in 64-bit mode) cannot enter: FAIL_ENTRY")
    func failEntry() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_sync_done), arguments: [1])
        var special = try vm.vcpus[0].specialRegisters()
        special.cs.db = 1
        try vm.vcpus[0].setSpecialRegisters(special)
        let report = await vm.run(RunOptions(deadline: .seconds(10)))
        let outcome = report.vcpus[0].outcome
        withKnownIssue("PVM runs a vCPU whose CS has L=1 and D=1: it makes no VM-entry consistency check of CS") {
            guard case .faulted(.failEntry) = outcome else {
                Issue.record("expected FAIL_ENTRY, got \(outcome)")
                return
            }
        } when: {
            HostDepartures.isPVM && outcome == .done
        }
        try await expectNormalVMRuns()
    }

    @Test("a triple fault (no IDT, then UD2) is a SHUTDOWN exit")
    func tripleFault() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_triple_fault)).run(RunOptions(deadline: .seconds(10)))
        #expect(report.vcpus[0].outcome == .faulted(.shutdown))
        try await expectNormalVMRuns()
    }

    @Test("64 vCPUs spinning until the deadline all time out")
    func spinningVCPUs() async throws {
        // scripts/soak.sh spin runs the same with the process's threads and descriptors measured around it.
        let vm = try VirtualMachine(entry: GuestFunction(guest_spin), vcpus: 64)
        let report = await vm.run(RunOptions(deadline: .seconds(1)))
        #expect(report.vcpus.allSatisfy { $0.outcome == .timedOut }, "\(report.vcpus.map(\.outcome))")
        // On a loaded host a vCPU may not have reached its SYNC(1) by the deadline; none reports anything else.
        #expect(report.vcpus.allSatisfy { $0.checkpoints == [.sync([1])] || $0.checkpoints.isEmpty })
        try await expectNormalVMRuns()
    }

    @Test("a flood of 10,000 ucalls loses none (10^6 is scripts/soak.sh flood)")
    func ucallFlood() async throws {
        let count = 10_000
        let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_flood), arguments: [UInt64(count)])
        var seen = 0
        while case .sync(let arguments) = try vm.vcpus[0].nextUcall() {
            #expect(arguments[0] == UInt64(seen))
            seen += 1
        }
        #expect(seen == count)
        try await expectNormalVMRuns()
    }

    @Test("a guest image whose segment claims 64 TiB is refused by the loader at once")
    func hugeImage() async throws {
        var bytes = [UInt8](repeating: 0, count: 64 + 56)
        func put(_ value: UInt64, _ offset: Int, _ width: Int) {
            for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        bytes[0...6] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]
        put(2, 16, 2); put(62, 18, 2); put(0x40_0000, 24, 8); put(64, 32, 8); put(56, 54, 2); put(1, 56, 2)
        put(1, 64, 4); put(5, 68, 4); put(0x40_0000, 80, 8); put(0x4000_0000_0000 - 0x40_0000, 104, 8)  // PT_LOAD R+X
        let image = try ELFImage(bytes: bytes)
        let vm = try VirtualMachine()
        #expect {
            try vm.load(image)
        } throws: { error in
            guard case .needsMoreMemory(let required, _, _) = error as? GuestImageError else { return false }
            return required > 0x4000_0000_0000 - 0x40_0000
        }
        try await expectNormalVMRuns()
    }
}
