import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/set_boot_cpu_id.c`: `KVM_SET_BOOT_CPU_ID` picks which vCPU sees
/// IA32_APIC_BASE.BSP; ids above `KVM_CAP_MAX_VCPU_ID` or with bits 63:32 set are refused, and once a vCPU exists
/// the boot vCPU can no longer change (EBUSY), while running and after.
@Suite("selftest set_boot_cpu_id", .requiresKVM, .requires(.setBootCPUID))
struct SetBootCPUIDTests {
    /// A VM whose boot vCPU is `bootID`, with the refusals checked first, and two vCPUs that assert their BSP bit.
    func makeVM(bootID: Int) throws -> VirtualMachine {
        let vm = try VirtualMachine()
        let maxID = Int(vm.check(.maxVCPUID))
        if maxID > 0 {
            #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_BOOT_CPU_ID", errno: .invalidArgument)) {
                try vm.setBootVCPU(id: maxID + 1)
            }
        }
        #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_BOOT_CPU_ID", errno: .invalidArgument)) {
            try vm.setBootVCPU(id: 1 << 32)
        }
        try vm.setBootVCPU(id: bootID)
        for id in 0..<2 {
            try vm.addVCPU(entry: GuestFunction(guest_boot_cpu), arguments: [id == bootID ? 1 : 0])
        }
        return vm
    }

    func expectBusy(_ vm: VirtualMachine, _ vcpu: VCPU, _ when: String) {
        #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_BOOT_CPU_ID", errno: .resourceBusy), "\(when)") {
            try vm.setBootVCPU(id: vcpu.index)
        }
    }

    /// SYNC(1), with the boot vCPU refused while the VM runs, then DONE.
    func run(_ vm: VirtualMachine, _ vcpu: VCPU) throws {
        #expect(try vcpu.nextUcall() == .sync([1]))
        expectBusy(vm, vcpu, "while the VM runs")
        #expect(try vcpu.nextUcall() == .done)
    }

    @Test("the boot vCPU is 0, then 1, then 0 again: only it sees IA32_APIC_BASE.BSP", arguments: [0, 1, 0])
    func bootVCPU(_ bootID: Int) throws {
        let vm = try makeVM(bootID: bootID)
        try run(vm, vm.vcpus[0])
        try run(vm, vm.vcpus[1])
    }

    @Test("KVM_SET_BOOT_CPU_ID is EBUSY once vCPUs exist, and after they finished")
    func busyAfterVCPUs() throws {
        let vm = try makeVM(bootID: 0)
        expectBusy(vm, vm.vcpus[1], "after adding vCPUs")
        try run(vm, vm.vcpus[0])
        try run(vm, vm.vcpus[1])
        expectBusy(vm, vm.vcpus[1], "after the vCPUs finished")
    }
}
