import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// Memslots a test adds, moves, resizes, flags and deletes; the harness's own memory kept out of reach; and the ucall
/// decoder under vCPUs whose ucall structs live in a slot that another thread moves and deletes.
@Suite("Memslots", .requiresKVM)
struct MemslotTests {
    /// Far above guest RAM and the shared code (which starts at 4 GiB), below every MAXPHYADDR KVM reports.
    static let testGPA: UInt64 = 1 << 36

    @Test("every backing: the host view and the guest see the same bytes, across a move, a flag change and a resize",
          arguments: [MemoryBacking.anonymous, .transparentHugePages, .sharedMemory])
    func backings(_ backing: MemoryBacking) throws {
        let vm = try VirtualMachine()
        let size: UInt64 = 4 << 20
        let slot = try vm.addMemslot(20, gpa: Self.testGPA, size: size, backing: backing)
        #expect(slot.slot == 20 && !slot.isHarnessMemory)
        try vm.map(gva: Self.testGPA, gpa: Self.testGPA, size: size)
        let view = try vm.hostMemory(gpa: Self.testGPA + 4096, count: 8)
        view.storeBytes(of: 0x1122_3344_5566_7788 as UInt64, as: UInt64.self)
        #expect(try vm.read(UInt64.self, at: Self.testGPA + 4096) == 0x1122_3344_5566_7788)
        #expect(vm.guestPhysicalAddress(ofHost: view.baseAddress!) == Self.testGPA + 4096)

        try vm.setMemslotFlags(20, .logDirtyPages)
        #expect(vm.memslots.slot(numbered: 20)?.logsDirtyPages == true)
        try vm.moveMemslot(20, to: Self.testGPA + size)
        #expect(throws: KVMError.self) { try vm.read(UInt64.self, at: Self.testGPA + 4096) }
        #expect(try vm.hostMemory(gpa: Self.testGPA + size + 4096, count: 8).load(as: UInt64.self) == 0x1122_3344_5566_7788)
        try vm.moveMemslot(20, to: Self.testGPA)
        try vm.resizeMemslot(20, size: 8192)
        #expect(vm.memslots.slot(numbered: 20)?.size == 8192)
        #expect(try vm.read(UInt64.self, at: Self.testGPA + 4096) == 0x1122_3344_5566_7788, "resizing keeps the memory")
        #expect(throws: KVMError.self) { try vm.hostMemory(gpa: Self.testGPA + 4096, count: 8192) }
        try vm.deleteMemslot(20)
        #expect(vm.memslots.slot(numbered: 20) == nil)
        #expect(throws: KVMError.self) { try vm.hostMemory(gpa: Self.testGPA, count: 8) }
    }

    @Test("hugetlbfs 2 MiB backing", .enabled(if: MemoryBacking.hugeTLBShortfall(bytes: 4 << 20) == nil,
        Comment(rawValue: MemoryBacking.hugeTLBShortfall(bytes: 4 << 20) ?? "")))
    func hugeTLB() throws {
        let vm = try VirtualMachine()
        try vm.addMemslot(gpa: Self.testGPA, size: 4 << 20, backing: .hugeTLB2MiB)
        let view = try vm.hostMemory(gpa: Self.testGPA, count: 4 << 20)
        view.storeBytes(of: 7 as UInt64, toByteOffset: (2 << 20) + 8, as: UInt64.self)
        #expect(view.load(fromByteOffset: (2 << 20) + 8, as: UInt64.self) == 7)
    }

    @Test("the test's own memory backs a slot, and stays the test's after the slot is deleted")
    func hostMemory() throws {
        let vm = try VirtualMachine()
        let size = 1 << 20
        let memory = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer { munmap(memory, size) }
        memory.storeBytes(of: 0xabcd as UInt64, toByteOffset: 64, as: UInt64.self)
        try vm.addMemslot(gpa: Self.testGPA, size: UInt64(size), backing: .host(address: UInt(bitPattern: memory)))
        try vm.map(gva: Self.testGPA, gpa: Self.testGPA, size: UInt64(size))
        #expect(try vm.read(UInt64.self, at: Self.testGPA + 64) == 0xabcd)
        try vm.write(0x1234 as UInt64, at: Self.testGPA + 72)
        let slot = try #require(vm.memslots.slot(containing: Self.testGPA))
        try vm.deleteMemslot(slot.slot)
        #expect(memory.load(fromByteOffset: 72, as: UInt64.self) == 0x1234, "still mapped, and the guest's write is there")
    }

    @Test("a slot over the harness's RAM, its code or the ucall address is refused, naming the address")
    func protectedMemory() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_spin))
        #expect(throws: KVMError.protectedGuestMemory(gpa: 0x10_0000, owner: "guest RAM")) {
            try vm.addMemslot(gpa: 0x10_0000, size: 4096)
        }
        let ucall = vm.ucallAddress
        #expect(throws: KVMError.protectedGuestMemory(gpa: ucall, owner: "the ucall MMIO address")) {
            try vm.addMemslot(gpa: ucall & ~0xfff, size: 4096)
        }
        let code = try #require(vm.memslots.slots.first { $0.readOnly })
        #expect(throws: KVMError.protectedGuestMemory(gpa: code.guestPhysicalAddress, owner: code.purpose)) {
            try vm.addMemslot(gpa: code.guestPhysicalAddress, size: 4096)
        }
        #expect(throws: KVMError.protectedGuestMemory(gpa: 0, owner: "memslot 0, guest RAM")) { try vm.deleteMemslot(0) }
        let moved = try vm.addMemslot(gpa: Self.testGPA, size: 4096)
        #expect(throws: KVMError.protectedGuestMemory(gpa: 0x20_0000, owner: "guest RAM")) {
            try vm.moveMemslot(moved.slot, to: 0x20_0000)
        }
        #expect(vm.memslots.slot(numbered: moved.slot)?.guestPhysicalAddress == Self.testGPA, "a refused move moves nothing")
    }

    @Test("changing the harness's layout while a vCPU runs is refused; slot changes are not")
    func layoutWhileRunning() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_spin))
        let vcpu = vm.vcpus[0]
        #expect(try vcpu.nextUcall() == .sync(UcallArguments([1])))
        let runner = Thread { _ = try? vcpu.step() }
        defer {
            vcpu.kick()
            runner.join()
        }
        while !vcpu.isDriven { sched_yield() }
        #expect(throws: KVMError.vcpuRunning(operation: "allocate guest memory", vcpu: 0)) {
            try vm.allocate(gva: 0x4000_0000, size: 4096)
        }
        let slot = try vm.addMemslot(gpa: Self.testGPA, size: 4096)
        try vm.deleteMemslot(slot.slot)
    }

    /// Two vCPUs build ucall structs in a slot while this thread moves it away and back, deletes it and adds it
    /// again (fresh memory each time, the old unmapped). Every ucall must decode to exactly what the guest wrote,
    /// to a struct torn by a slot change (each field what the guest wrote or the zero of fresh memory), or to a
    /// typed malformed-ucall error (the struct in no slot); the host must not crash or read unmapped memory.
    @Test("ucalls whose struct is in a slot that moves and is deleted under them")
    func ucallsWhileSlotsMove() throws {
        let count: UInt64 = 400
        let vm = try VirtualMachine(configuration: .init())
        let stride: UInt64 = 2 << 20
        for index in 0..<2 {
            let gpa = Self.testGPA + UInt64(index) * stride
            try vm.addMemslot(UInt32(30 + index), gpa: gpa, size: 4096)
            try vm.map(gva: gpa, gpa: gpa, size: 4096)
            try vm.addVCPU(entry: GuestFunction(guest_ucall_in_slot), arguments: [gpa, count])
        }
        let finished = Locked(0)
        let outcomes = Locked<[String: Int]>([:])
        let threads = vm.vcpus.map { vcpu in
            Thread {
                defer { finished.withLock { $0 += 1 } }
                var seen: [String: Int] = [:]
                loop: while true {
                    let event: VcpuEvent
                    do { event = try vcpu.step() } catch {
                        guard case .malformedUcall = error as? KVMError else {
                            seen["error \(error)", default: 0] += 1
                            break loop
                        }
                        seen["malformed", default: 0] += 1
                        continue
                    }
                    switch event {
                    case .ucall(.done): break loop
                    case .ucall(.sync(let args)) where args[1] == UInt64(MEMSLOT_RACE_MAGIC) && args[0] < count:
                        seen["sync", default: 0] += 1
                    case .ucall(.sync(let args)), .ucall(.none(let args)):
                        // The slot was replaced by fresh (zeroed) memory while the guest wrote the struct: each
                        // field is what the guest wrote or zero.
                        let torn = args[0] < count && (args[1] == 0 || args[1] == UInt64(MEMSLOT_RACE_MAGIC))
                        seen[torn ? "torn by a slot change" : "unexpected \(event)", default: 0] += 1
                        if !torn { break loop }
                    case .exit(.mmio(let access)) where access.isWrite: seen["store to a missing slot", default: 0] += 1
                    default:
                        seen["unexpected \(event)", default: 0] += 1
                        break loop
                    }
                }
                outcomes.withLock { for (key, value) in seen { $0[key, default: 0] += value } }
            }
        }
        var changes = 0
        while finished.withLock({ $0 }) < threads.count {
            let index = changes % 2
            let number = UInt32(30 + index)
            let gpa = Self.testGPA + UInt64(index) * stride
            try vm.moveMemslot(number, to: gpa + stride * 4)
            try vm.moveMemslot(number, to: gpa)
            try vm.deleteMemslot(number)
            try vm.addMemslot(number, gpa: gpa, size: 4096)
            changes += 1
        }
        for thread in threads { thread.join() }
        let result = outcomes.withLock { $0 }
        #expect(result.keys.allSatisfy { ["sync", "torn by a slot change", "malformed", "store to a missing slot"].contains($0) },
                "\(result)")
        #expect((result["sync"] ?? 0) > 0, "\(result)")
        #expect(changes > 0)
    }
}

/// A joinable host thread for a test (Foundation's Thread cannot be joined).
private struct Thread {
    private let thread: OSThread
    init(_ body: @escaping @Sendable () -> Void) { thread = try! OSThread(body) }
    func join() { thread.join() }
}

/// Guest memory where the harness picks the address, large pages, and translation both ways.
@Suite("Guest memory", .requiresKVM)
struct GuestMemoryTests {
    @Test("allocate(size:) picks unmapped addresses; gpa to gva and host to gpa translate back")
    func allocateAndTranslate() throws {
        let vm = try VirtualMachine()
        let first = try vm.allocate(size: 8192)
        let second = try vm.allocate(size: 4096)
        #expect(first.gva == VirtualMachine.allocationBase && second.gva == first.gva + 8192)
        #expect(vm.translate(first.gva + 4100) == .mapped(gpa: first.gpa + 4100, writable: true, executable: false, user: false))
        #expect(vm.guestVirtualAddresses(of: second.gpa + 8) == [second.gva + 8])
        let host = try vm.hostMemory(gpa: first.gpa, count: 8192)
        #expect(vm.guestPhysicalAddress(ofHost: host.baseAddress! + 4096) == first.gpa + 4096)
    }

    @Test("a guest writes through 2 MiB pages")
    func twoMegabytePagesInTheGuest() throws { try largePagesInTheGuest(.size2MiB) }

    // Where the supported CPUID lacks 1 GiB pages (PVM here), MaxGuestMemoryTests.gigabytePageNeedsPDPE1GB checks
    // that such a mapping faults instead.
    @Test("a guest writes through 1 GiB pages", .requires(CPUFeature.gbpages))
    func gigabytePagesInTheGuest() throws { try largePagesInTheGuest(.size1GiB) }

    private func largePagesInTheGuest(_ pageSize: GuestPageSize) throws {
        let vm = try VirtualMachine(configuration: .init())
        let gpa: UInt64 = 1 << 36
        let gva: UInt64 = 0x20_0000_0000
        let size = pageSize.rawValue
        try vm.addMemslot(gpa: gpa, size: size, backing: .transparentHugePages)
        try vm.map(gva: gva, gpa: gpa, size: size, pageSize: pageSize)
        #expect(vm.translate(gva + size - 8) == .mapped(gpa: gpa + size - 8, writable: true, executable: false, user: false))
        // One memstress pass over 4 MiB of it (the first 2 MiB page and the next).
        let pages: UInt64 = min(size, 4 << 20) / 4096
        try vm.addVCPU(entry: GuestFunction(guest_memstress), arguments: [gva, pages])
        #expect(try vm.vcpus[0].nextUcall() == .sync(UcallArguments([1])))
        let memory = try vm.hostMemory(gpa: gpa, count: Int(pages * 4096))
        #expect((0..<Int(pages)).allSatisfy { memory.load(fromByteOffset: $0 * 4096, as: UInt64.self) == 1 })
    }
}
