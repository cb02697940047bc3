import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `kvm_page_table_test.c`: vCPUs touch a region at the top of guest-physical memory in
/// stages that make KVM create its mappings (one access per large page), update them under dirty logging (a write
/// splits each large page, reads of its second half map 4 KiB pages) and adjust them back once logging is off (a
/// read of every page). Beyond the C test, which checks only that every vCPU reaches its SYNC: each SYNC names the
/// stage the guest saw, the region holds exactly what the guest wrote, and the dirty log of the update stage is
/// exactly the pages written in it.
///
/// Short parameters: 2 vCPUs (one writes, one reads in the create stage, as the C test's even and odd vCPUs) and
/// 4 MiB, with anonymous memory (the C test's default) and with transparent huge pages. The C test: 1 vCPU, 1 GiB;
/// `scripts/kvm-page-table-full.sh` runs the port with that.
@Suite("selftest kvm_page_table_test", .requiresKVM)
struct KVMPageTableTests {
    static let vcpus = DirtyLogTests.environment("KVMH_PAGE_TABLE_VCPUS") ?? 2
    static let size = UInt64(DirtyLogTests.environment("KVMH_PAGE_TABLE_MB") ?? 4) << 20
    /// The C test's default guest-virtual address of the region.
    static let gva: UInt64 = 0xc000_0000
    static let slot: UInt32 = 1
    /// AMD keeps the top 12 GiB of the physical address space for HyperTransport; the region goes below it.
    static let reservedTop: UInt64 = 12 << 30

    @Test("create, update under dirty logging and adjust the mappings of a region",
          arguments: [MemoryBacking.anonymous, .transparentHugePages])
    func pageTable(backing: MemoryBacking) throws {
        let largePage: UInt64 = backing == .transparentHugePages ? 2 << 20 : 4096
        let size = Self.size.roundedUp(to: largePage)
        let vm = try VirtualMachine(configuration: .init())
        let top = UInt64(1) << UInt64(vm.physicalAddressBits)
        let gpa = (top - Self.reservedTop - size) & ~(largePage - 1)
        try vm.addMemslot(Self.slot, gpa: gpa, size: size, backing: backing)
        try vm.map(gva: Self.gva, gpa: gpa, size: size)
        let shared = try vm.allocate(size: UInt64(MemoryLayout<page_table_control>.size))
        let control = try vm.hostMemory(gpa: shared.gpa, count: MemoryLayout<page_table_control>.size)
        control.storeBytes(
            of: page_table_control(stage: 0, gva: Self.gva, size: size, large_page: largePage), as: page_table_control.self)
        for index in 0..<Self.vcpus {
            try vm.addVCPU(entry: GuestFunction(guest_page_table), arguments: [shared.gva, index % 2 == 0 ? 1 : 0])
        }
        let memory = try vm.hostMemory(gpa: gpa, count: Int(size))
        let pages = Int(size / 4096)
        let pagesPerLargePage = Int(largePage / 4096)

        /// Runs every vCPU, each on its own thread, to its next ucall, which must be the SYNC of `value`.
        func run(stage value: Int32) throws {
            control.storeBytes(
                of: UInt64(value), toByteOffset: MemoryLayout<page_table_control>.offset(of: \.stage)!, as: UInt64.self)
            let failures = Locked([String]())
            let threads = try vm.vcpus.map { vcpu in
                try OSThread {
                    do {
                        let ucall = try vcpu.nextUcall()
                        if ucall != .sync(UcallArguments([UInt64(value)])) {
                            failures.withLock { $0.append("vCPU \(vcpu.index), stage \(value): \(ucall)") }
                        }
                    } catch {
                        failures.withLock { $0.append("vCPU \(vcpu.index), stage \(value): \(error)") }
                    }
                }
            }
            for thread in threads { thread.join() }
            try #require(failures.withLock { $0 } == [])
        }
        /// The pages whose first word is not what the guest left there: the magic in the first page of each large
        /// page (vCPU 0 writes it in the create stage, every vCPU in the update stage), zero everywhere else.
        func expectWhatTheGuestWrote(after stage: String) {
            let wrong = (0..<pages).filter { page in
                let expected = page % pagesPerLargePage == 0 ? PAGE_TABLE_MAGIC : 0
                return memory.load(fromByteOffset: page * 4096, as: UInt64.self) != expected
            }
            #expect(wrong.isEmpty, "after the \(stage) stage, \(wrong.count) pages hold something else (first \(wrong.prefix(4)))")
        }

        try run(stage: PAGE_TABLE_STAGE_START)
        try run(stage: PAGE_TABLE_STAGE_CREATE)
        expectWhatTheGuestWrote(after: "create")

        try vm.setMemslotFlags(Self.slot, .logDirtyPages)
        try run(stage: PAGE_TABLE_STAGE_UPDATE)
        let dirty = try vm.dirtyLog(slot: Self.slot)
        let written = Set(stride(from: 0, to: pages, by: pagesPerLargePage))
        let missing = written.subtracting(dirty.pages).sorted()
        let extra = Set(dirty.pages).subtracting(written).sorted()
        #expect(missing.isEmpty && extra.isEmpty,
                "update stage: \(missing.count) written pages not logged (first \(missing.prefix(4))), \(extra.count) read-only pages logged (first \(extra.prefix(4)))")
        expectWhatTheGuestWrote(after: "update")

        try vm.setMemslotFlags(Self.slot, [])
        try run(stage: PAGE_TABLE_STAGE_ADJUST)
        expectWhatTheGuestWrote(after: "adjust")
    }
}
