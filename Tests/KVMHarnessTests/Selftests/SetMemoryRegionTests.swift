import CKVM
import Dispatch
import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.18's `set_memory_region_test.c`: a memslot moved and deleted under a vCPU that reads it (the
/// guest sees the old value, the new one, or MMIO while the slot is in flux, never a stale page), with the slot-zap
/// quirk on and, where KVM lets it be disabled, off; `KVM_RUN` with no memslots; every undefined flag refused by
/// `KVM_SET_USER_MEMORY_REGION` and `..._REGION2`; and slots up to `KVM_CAP_NR_MEMSLOTS` and not one more.
///
/// Left out: the guest_memfd cases (the C test skips them on this host too: no `KVM_X86_SW_PROTECTED_VM`), and the
/// last step of the delete case, which deletes the slot holding the guest's code and page tables: the harness keeps
/// its own memory out of a test's reach (`protectedGuestMemory`).
@Suite("selftest set_memory_region_test", .requiresKVM)
struct SetMemoryRegionTests {
    static let regionGPA: UInt64 = 0xc000_0000
    static let regionSize: UInt64 = 0x20_0000
    static let regionSlot: UInt32 = 10
    /// Move and delete rounds per quirk setting (the C test's default is 10; `KVMH_MEMSLOT_LOOPS` sets more).
    static let loops = getenv("KVMH_MEMSLOT_LOOPS").flatMap { Int(String(cString: $0)) } ?? 1

    /// Whether `KVM_X86_QUIRK_SLOT_ZAP_ALL` (1 << 7, Linux 6.12) can be disabled here.
    static var slotZapQuirkCanBeDisabled: Bool {
        ((try? KVM.shared())?.check(.disableQuirks2) ?? 0) & (1 << 7) != 0
    }

    /// The vCPU thread of the C test's `vcpu_worker`: answers reads of the region while it is in no slot with
    /// SET_MEMORY_REGION_MMIO_VALUE, signals each SYNC, and stops at DONE or anything else.
    private final class Worker: @unchecked Sendable {
        // Sendable: `failure` is written by the worker thread before it finishes and read after join.
        let synced = DispatchSemaphore(value: 0)
        var failure: String?
        private var thread: OSThread?

        init(_ vcpu: VCPU) throws {
            thread = try OSThread { [self] in
                while true {
                    do {
                        switch try vcpu.step() {
                        case .ucall(.sync): synced.signal()
                        case .ucall(.done): return
                        case .exit(.mmio(let access))
                        where !access.isWrite && access.length == 8 && access.address == SetMemoryRegionTests.regionGPA:
                            try vcpu.answerMMIORead(value: SET_MEMORY_REGION_MMIO_VALUE)
                        case let event:
                            failure = "unexpected \(event)"
                            return
                        }
                    } catch {
                        failure = "\(error)"
                        return
                    }
                }
            }
        }

        /// The C test's `wait_for_vcpu`: a SYNC within 2 s, then 100 ms for the vCPU to enter the guest again.
        func waitForSync() {
            #expect(synced.wait(timeout: .now() + 2) == .success, "no SYNC from the guest within 2 s")
            usleep(100_000)
        }

        func join() {
            thread?.join()
            thread = nil
            #expect(failure == nil)
        }
    }

    /// The C test's `spawn_vm`: a 2 MiB THP slot at regionGPA whose first two pages are mapped and zero.
    private func spawn(_ entry: GuestFunction, disableSlotZapQuirk: Bool) throws -> (VirtualMachine, Worker) {
        let vm = try VirtualMachine(configuration: .init())
        if disableSlotZapQuirk { try vm.enableCapability(.disableQuirks2, arguments: [1 << 7]) }
        try vm.addMemslot(
            Self.regionSlot, gpa: Self.regionGPA, size: Self.regionSize, backing: .transparentHugePages)
        try vm.map(gva: Self.regionGPA, gpa: Self.regionGPA, size: 2 * 4096)
        try vm.hostMemory(gpa: Self.regionGPA, count: 2 * 4096).initializeMemory(as: UInt8.self, repeating: 0)
        try vm.addVCPU(entry: entry, arguments: [Self.regionGPA])
        let worker = try Worker(vm.vcpus[0])
        worker.waitForSync()
        return (vm, worker)
    }

    @Test("MOVE of an in-use region", arguments: [false, true])
    func moveRegion(disableSlotZapQuirk: Bool) throws {
        guard !disableSlotZapQuirk || Self.slotZapQuirkCanBeDisabled else { return }
        for _ in 0..<Self.loops {
            let (vm, worker) = try spawn(GuestFunction(guest_move_region), disableSlotZapQuirk: disableSlotZapQuirk)
            let word = try vm.hostMemory(gpa: Self.regionGPA, count: 8)
            // Misaligned by a page: the guest's GPA now reaches the second host page, so it must not see the 2.
            try vm.moveMemslot(Self.regionSlot, to: Self.regionGPA - 4096)
            word.storeBytes(of: 2 as UInt64, as: UInt64.self)
            usleep(100_000)
            // Change the value before the slot returns, or the guest could see the 2.
            word.storeBytes(of: 1 as UInt64, as: UInt64.self)
            try vm.moveMemslot(Self.regionSlot, to: Self.regionGPA)
            worker.waitForSync()
            worker.waitForSync()  // the SYNC deferred from while the slot was misaligned
            worker.join()
        }
    }

    @Test("DELETE of an in-use region", arguments: [false, true])
    func deleteRegion(disableSlotZapQuirk: Bool) throws {
        guard !disableSlotZapQuirk || Self.slotZapQuirkCanBeDisabled else { return }
        for _ in 0..<Self.loops {
            let (vm, worker) = try spawn(GuestFunction(guest_delete_region), disableSlotZapQuirk: disableSlotZapQuirk)
            try vm.deleteMemslot(Self.regionSlot)
            worker.waitForSync()
            try vm.addMemslot(
                Self.regionSlot, gpa: Self.regionGPA, size: Self.regionSize, backing: .transparentHugePages)
            worker.waitForSync()
            try vm.deleteMemslot(Self.regionSlot)
            worker.waitForSync()
            worker.join()
        }
    }

    @Test("KVM_RUN with zero memslots exits with KVM_EXIT_INTERNAL_ERROR")
    func zeroMemoryRegions() throws {
        let vm = try VirtualMachine(configuration: .bare)
        let vcpu = try vm.addBareVCPU(id: 0)
        try kvmIoctl(vm.state.fd, CKVM_SET_NR_MMU_PAGES, 64, "KVM_SET_NR_MMU_PAGES")
        let event = try vcpu.step()
        guard case .exit(.internalError) = event else {
            Issue.record("expected KVM_EXIT_INTERNAL_ERROR, got \(event)")
            return
        }
    }

    @Test("undefined memslot flags are refused by KVM_SET_USER_MEMORY_REGION and, where it exists, ..._REGION2")
    func invalidFlags() throws {
        let vm = try VirtualMachine(configuration: .bare)
        var supported = MemslotFlags.logDirtyPages.rawValue | MemslotFlags.readOnly.rawValue
        let v2Only = UInt32(KVM_MEM_GUEST_MEMFD)
        if vm.check(.memoryAttributes) & (1 << 3) != 0 { supported |= v2Only }  // KVM_MEMORY_ATTRIBUTE_PRIVATE
        let hasRegion2 = vm.has(.userMemory2)
        for bit in 0..<32 {
            let flag = UInt32(1) << UInt32(bit)
            if supported & flag != 0 && v2Only & flag == 0 { continue }
            #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_USER_MEMORY_REGION (slot 0)", errno: .invalidArgument)) {
                try vm.setUserMemoryRegion(slot: 0, flags: flag, gpa: 0, size: Self.regionSize, hostAddress: 0)
            }
            if supported & flag != 0 || !hasRegion2 { continue }
            #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_USER_MEMORY_REGION2 (slot 0)", errno: .invalidArgument)) {
                try vm.setUserMemoryRegion2(
                    slot: 0, flags: flag, gpa: 0, size: Self.regionSize, hostAddress: 0, guestMemfd: 0)
            }
        }
    }

    @Test("memslots up to KVM_CAP_NR_MEMSLOTS, and not one more")
    func addMaxMemoryRegions() throws {
        let maxSlots = UInt32(try KVM.shared().check(.memslotCount))
        #expect(maxSlots > 0)
        let vm = try VirtualMachine(configuration: .bare)
        let length = Int(maxSlots) * Int(Self.regionSize)
        let memory = try #require(mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0))
        #expect(memory != MAP_FAILED)
        defer { munmap(memory, length) }
        let base = UInt(bitPattern: memory)
        for slot in 0..<maxSlots {
            try vm.setUserMemoryRegion(
                slot: slot, flags: 0, gpa: UInt64(slot) * Self.regionSize, size: Self.regionSize,
                hostAddress: base + UInt(slot) * UInt(Self.regionSize))
        }
        #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_USER_MEMORY_REGION (slot \(maxSlots))", errno: .invalidArgument)) {
            try vm.setUserMemoryRegion(
                slot: maxSlots, flags: 0, gpa: UInt64(maxSlots) * Self.regionSize, size: Self.regionSize,
                hostAddress: base)
        }
    }
}
