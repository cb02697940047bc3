import Foundation
import KVMHarness
import KVMHarnessTesting
import TestGuests
import Testing

/// The guest's copy of a C global of the guest code, read without touching the host's copy (which tests running
/// in parallel share).
func guestGlobal<T: BitwiseCopyable>(_ vm: VirtualMachine, _ global: UnsafeMutablePointer<T>) throws -> T {
    try vm.read(T.self, at: UInt64(UInt(bitPattern: global)))
}

/// Interrupt controllers, halting, IPIs between vCPUs, interrupts from a user-space controller and the APIC timer.
@Suite("interrupts", .requiresKVM)
struct InterruptTests {
    @Test("the default VM has local APICs in the kernel (split); .none and .full are there to choose")
    func interruptControllerKinds() throws {
        #expect(try VirtualMachine().interruptController == .split)
        #expect(try VirtualMachine(configuration: .bare).interruptController == .none)
        for kind in InterruptController.allCases {
            let vm = try VirtualMachine(configuration: .init(interruptController: kind))
            #expect(vm.interruptController == kind)
            let vcpu = try vm.addVCPU(entry: GuestFunction(guest_sync_stages))
            if kind.hasLocalAPIC {
                #expect(try vcpu.apicMode() == .xAPIC)
                #expect(try vcpu.localAPIC()[.id] == 0)
            } else {
                #expect(throws: KVMError.ioctlFailed(operation: "KVM_GET_LAPIC", errno: .invalidArgument)) {
                    try vcpu.localAPIC()
                }
            }
        }
        let vm = try VirtualMachine()
        #expect(throws: KVMError.self) { try vm.createInterruptController() }
    }

    @Test("a vCPU halted with interrupts off is stopped by the deadline and reported as halted")
    func haltedWithInterruptsOff() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_halts_interrupts_off))
        let report = await vm.run(RunOptions(deadline: .milliseconds(300)))
        #expect(report.timedOut)
        #expect(report.vcpus[0].checkpoints == [.sync([1])])
        #expect(report.vcpus[0].outcome == .timedOut)
        #expect(report.vcpus[0].halted)
        #expect(report.timeoutDiagnosis.contains("vCPU 0: halted at RIP"))
    }

    @Test("a halted vCPU is stopped at once when another vCPU fails")
    func haltedStoppedByOtherFailure() async throws {
        let vm = try VirtualMachine()
        try vm.addVCPU(entry: GuestFunction(guest_halts_interrupts_off))
        try vm.addVCPU(entry: GuestFunction(guest_assert_eq_fails))
        let report = await vm.run(RunOptions(deadline: .seconds(30)))
        #expect(!report.timedOut)
        #expect(report.vcpus[0].outcome == .stopped)
        guard case .failed(.abort) = report.vcpus[1].outcome else {
            Issue.record("vCPU 1 should fail its assertion, got \(report.vcpus[1].outcome)")
            return
        }
    }

    @Test("8 vCPUs pass a token around a ring by IPI 10,000 times, none lost")
    func ipiTokenRing() async throws {
        let count = 8, hops: UInt64 = 10_000
        let vm = try VirtualMachine(entry: GuestFunction(guest_ipi_ring), vcpus: count) {
            [UInt64($0), UInt64(count), hops]
        }
        try vm.installInterruptHandler(vector: Int(RING_VECTOR), handler: GuestFunction(guest_ring_handler))
        try vm.installInterruptHandler(vector: Int(RING_STOP_VECTOR), handler: GuestFunction(guest_ring_handler))
        let report = await vm.run(RunOptions(deadline: .seconds(60)))
        #expect(report.succeeded, "\(report.timedOut ? report.timeoutDiagnosis : "\(report.firstFailure!)")")
        #expect(try guestGlobal(vm, &ring_hops) == hops)
        let received = withUnsafeBytes(of: try guestGlobal(vm, &ring_received)) { Array($0.bindMemory(to: UInt64.self)) }
        #expect(received.reduce(0, +) == hops)
        for vcpu in 0..<count {
            // Pass i (1 to hops) goes to vCPU i % count.
            let expected = (1...hops).count { Int($0 % UInt64(count)) == vcpu }
            #expect(received[vcpu] == UInt64(expected), "IPIs vCPU \(vcpu) took")
        }
        // The waiting happened in the kernel: KVM counted each vCPU's halts; none reached the host.
        for (index, vcpu) in vm.vcpus.enumerated() {
            #expect(report.vcpus[index].statistics.count(of: .hlt) == 0)
            let halts = try vcpu.binaryStatistics().first { $0.name == "halt_exits" }?.values.first ?? 0
            #expect(halts > 0, "vCPU \(index) halted in the kernel")
        }
        let seconds = Double(report.elapsedNanoseconds) / 1e9
        print("IPI ring: \(hops) passes among \(count) vCPUs in \(String(format: "%.2f", seconds)) s "
            + "(\(String(format: "%.1f", seconds * 1e6 / Double(hops))) µs per pass)")
    }

    @Test("without an in-kernel controller: KVM_INTERRUPT after an interrupt window and after a HLT exit")
    func userSpaceInterruptController() throws {
        let vm = try VirtualMachine(configuration: .init(interruptController: .none))
        let vcpu = try vm.addVCPU(entry: GuestFunction(guest_user_space_interrupts), arguments: [0])
        try vm.installInterruptHandler(vector: 0x40, handler: GuestFunction(guest_record_vector))
        try vm.installInterruptHandler(vector: 0x41, handler: GuestFunction(guest_record_vector))
        #expect(try vcpu.nextUcall() == .sync([1]))
        vcpu.requestsInterruptWindow = true
        #expect(try vcpu.step() == .exit(.other(.irqWindowOpen)))
        #expect(vcpu.isReadyForInterruptInjection)
        vcpu.requestsInterruptWindow = false
        try vcpu.injectInterrupt(vector: 0x40)
        #expect(try vcpu.nextUcall() == .sync([2, 0x40]))
        #expect(try vcpu.step() == .exit(.hlt))
        try vcpu.injectInterrupt(vector: 0x41)
        #expect(try vcpu.nextUcall() == .sync([3, 0x41]))
        #expect(try vcpu.nextUcall() == .done)
        #expect(vcpu.statistics.count(of: .irqWindowOpen) == 1)
        #expect(vcpu.statistics.count(of: .hlt) == 1)
    }

    @Test("an interrupt vector without a handler is reported as UNHANDLED with its vector")
    func unhandledInterrupt() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_self_ipi), arguments: [0x99])
        let vcpu = vm.vcpus[0]
        #expect(try vcpu.nextUcall() == .sync([1]))
        let ucall = try vcpu.nextUcall()
        guard case .unhandled(let exception) = ucall else {
            Issue.record("expected UNHANDLED, got \(ucall)")
            return
        }
        #expect(exception.vector == 0x99)
    }

    @Test("the APIC timer: one-shot, then periodic, each waking a halted vCPU")
    func apicTimer() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_apic_timer), arguments: [100_000])
        try vm.installInterruptHandler(vector: 0xec, handler: GuestFunction(guest_timer_handler))
        let vcpu = vm.vcpus[0]
        #expect(try vcpu.nextUcall() == .sync([1, 1]))
        #expect(try vcpu.nextUcall() == .sync([2, 4]))
        #expect(try vcpu.nextUcall() == .done)
    }

    @Test("an MSI, and an IRQ line routed to an MSI, reach the local APIC")
    func msiAndGSIRouting() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_user_space_interrupts), arguments: [1])
        let vcpu = vm.vcpus[0]
        try vm.installInterruptHandler(vector: 0x40, handler: GuestFunction(guest_record_vector))
        try vm.installInterruptHandler(vector: 0x41, handler: GuestFunction(guest_record_vector))
        #expect(try vcpu.nextUcall() == .sync([1]))
        // Fixed delivery to APIC ID 0 (address 0xFEE00000), vector 0x40: pending until the guest enables
        // interrupts.
        #expect(try vm.signalMSI(address: 0xFEE0_0000, data: 0x40) == 1)
        #expect(try vcpu.nextUcall() == .sync([2, 0x40]))
        // GSI 5 routed as an MSI with vector 0x41; raising the line delivers it, and the guest's STI; HLT takes it.
        try vm.setGSIRouting([.msi(gsi: 5, address: 0xFEE0_0000, data: 0x41)])
        #expect(try vm.setIRQLine(5, high: true) == 1)
        try vm.setIRQLine(5, high: false)
        #expect(try vcpu.nextUcall() == .sync([3, 0x41]))
        #expect(try vcpu.nextUcall() == .done)
    }

    @Test("KVM_NMI reaches a guest with interrupts off")
    func nmi() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_wait_for_nmi))
        try vm.installExceptionHandler(vector: 2, handler: GuestFunction(guest_record_vector))
        let vcpu = vm.vcpus[0]
        #expect(try vcpu.nextUcall() == .sync([1]))
        try vcpu.injectNMI()
        #expect(try vcpu.nextUcall() == .sync([2, 2]))
        #expect(try vcpu.nextUcall() == .done)
    }
}
