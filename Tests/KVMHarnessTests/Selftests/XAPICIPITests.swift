import Foundation
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/xapic_ipi_test.c`: in xAPIC mode, one vCPU sends fixed IPIs to another that
/// halts again and again; every IPI must be taken, wake the halter and see it halt again before the next is sent.
/// The kernel's version runs for 3 seconds (optionally migrating the process's pages between NUMA nodes, which
/// this machine has only one of); this one runs for `KVMHARNESS_XAPIC_IPI_SECONDS` (0.5 by default in the suite;
/// `scripts/xapic-ipi-long.sh` runs it for longer).
@Suite("selftest xapic_ipi_test", .requiresKVM)
struct XAPICIPITests {
    @Test("a halting vCPU takes every fixed IPI the other sends, wakes, and halts again")
    func ipisWakeTheHalter() async throws {
        let seconds = ProcessInfo.processInfo.environment["KVMHARNESS_XAPIC_IPI_SECONDS"].flatMap(Double.init) ?? 0.5
        let vm = try VirtualMachine()
        let halter = try vm.addVCPU(entry: GuestFunction(guest_xapic_halter))
        let tscHz = UInt64(try halter.tscKHz()) * 1000
        // The sender waits up to a second for each IPI to be taken, as the kernel's does (2e9 cycles).
        try vm.addVCPU(entry: GuestFunction(guest_xapic_sender), arguments: [UInt64(seconds * Double(tscHz)), tscHz])
        try vm.installInterruptHandler(vector: 0xa5, handler: GuestFunction(guest_xapic_ipi_handler))
        try vm.mapXAPIC()

        let report = await vm.run(RunOptions(deadline: .seconds(seconds + 30)))
        #expect(report.succeeded, "\(report.timedOut ? report.timeoutDiagnosis : "\(String(describing: report.firstFailure))")")
        let data = try guestGlobal(vm, &xapic_ipi_data)
        let received = try guestGlobal(vm, &xapic_ipis_received)
        #expect(data.ipis_sent > 0)
        #expect(received == data.ipis_sent, "IPIs taken vs sent")
        #expect(data.wake_count == data.ipis_sent, "wakes vs IPIs sent")
        #expect(data.hlt_count == data.ipis_sent, "halts vs IPIs sent")
        #expect(data.halter_apic_id == 0)
        // KVM's local APIC version (APIC_VERSION in arch/x86/kvm/lapic.c): proof the MMIO accesses reached it.
        #expect(data.halter_lvr & 0xff == 0x14)
        print("xapic_ipi_test: \(data.ipis_sent) IPIs in \(seconds) s; halts \(data.hlt_count), wakes "
            + "\(data.wake_count), taken \(received); TPR \(hex(UInt64(data.halter_tpr))) PPR "
            + "\(hex(UInt64(data.halter_ppr))) LVR \(hex(UInt64(data.halter_lvr)))")
    }
}
