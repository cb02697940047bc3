import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/state_test.c`: at every stage the vCPU's whole state is saved, the VM is made
/// again over the same memory, the state is loaded into a new vCPU, and the guest goes on there; the general
/// registers must come back exactly, and KVM must take the XSAVE area on a vCPU with or without CPUID.
///
/// Nested state is checked only where KVM has it (`KVM_CAP_NESTED_STATE`, which also needs VMX or SVM); hosts
/// without it skip those stages, as the C test does. The XSAVE stage runs XGETBV and vector instructions, which a
/// host that emulates CPL0 guest code (PVM) cannot run: there it is left out of the guest, and the probe test
/// below records the departure.
@Suite("selftest state_test", .requiresKVM)
struct StateTests {
    @Test("save at every SYNC, recreate the VM, load into a new vCPU, go on; registers identical")
    func saveAndRestoreAcrossVMs() throws {
        // As the kernel's VMs, with an in-kernel interrupt controller: the MSRs of the local APIC's features (for
        // instance MSR_KVM_ASYNC_PF_INT) are in KVM_GET_MSR_INDEX_LIST and can only be loaded with one.
        var vm = try VirtualMachine(configuration: .init(interruptController: .full))
        var vcpu = try vm.addVCPU(entry: GuestFunction(guest_state), arguments: [HostDepartures.isPVM ? 0 : 1])
        let cpuid = try KVM.shared().supportedCPUID.withAPICID(0)
        var stage: UInt64 = 1
        while true {
            let ucall = try vcpu.nextUcall()
            if ucall == .done { break }
            try #require(ucall == .sync(stage: stage), "stage \(stage)")

            let state = try vcpu.saveState()
            let before = try vcpu.registers()
            let next = try vm.recreate()
            let moved = try next.addBareVCPU(id: 0)
            try moved.setCPUID(cpuid)
            try moved.loadState(state)

            // KVM takes the XSAVE area again and again, and on a vCPU whose CPUID is empty.
            let other = try next.addBareVCPU(id: 1)
            try other.setXSAVE(state.xsave)
            try other.setXSAVE(state.xsave)
            try other.setCPUID(CPUIDTable())
            try other.setXSAVE(state.xsave)
            try other.setXSAVE(state.xsave)

            let after = try moved.registers()
            #expect(bytes(of: after) == bytes(of: before), "registers after loadState, stage \(stage)")
            (vm, vcpu) = (next, moved)
            stage += 1
        }
        #expect(stage == 3)
    }

    @Test("XGETBV runs in the guest (the state test's XSAVE stage needs it)")
    func xgetbvRuns() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_xgetbv_probe))
        let vcpu = vm.vcpus[0]
        try withKnownIssue("PVM's instruction emulator cannot run XGETBV (KVM_EXIT_INTERNAL_ERROR, emulation)") {
            let event = try vcpu.step()
            guard case .ucall(.sync(let arguments)) = event else {
                Issue.record("expected SYNC(1, XCR0), got \(event)")
                return
            }
            #expect(arguments[0] == 1)
            #expect(arguments[1] & 0x3 == 0x3, "XCR0 has x87 and SSE, as the harness set it")
        } when: {
            HostDepartures.isPVM
        }
    }
}
