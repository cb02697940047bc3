import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/apic_bus_clock_test.c`: with the APIC bus cycle set to 40 ns
/// (`KVM_CAP_X86_APIC_BUS_CYCLES_NS`, 25 MHz rather than KVM's 1 GHz), the APIC timer counts down at 25 MHz divided
/// as TDCR says, for each of the 8 divisors, within 5%, measured by the guest against the TSC over 100 ms; in
/// xAPIC and x2APIC mode. Setting the cycle once a vCPU exists is refused.
@Suite("selftest apic_bus_clock_test", .requiresKVM, .requires(.apicBusCyclesNS))
struct APICBusClockTests {
    static let apicHz: UInt64 = 25_000_000

    @Test("the APIC timer runs at the configured bus frequency for every divisor", arguments: [false, true])
    func busClock(x2apic: Bool) async throws {
        let vm = try VirtualMachine()
        try vm.setAPICBusCycle(nanoseconds: 1_000_000_000 / Self.apicHz)
        let vcpu = try vm.addVCPU(entry: GuestFunction(guest_apic_bus_clock))
        let tscHz = UInt64(try vcpu.tscKHz()) * 1000
        var registers = try vcpu.registers()
        registers.rdi = Self.apicHz
        registers.rsi = tscHz
        registers.rdx = tscHz / 10  // 100 ms
        registers.rcx = x2apic ? 1 : 0
        try vcpu.setRegisters(registers)
        #expect(throws: KVMError.ioctlFailed(
            operation: "KVM_ENABLE_CAP(KVM_CAP_X86_APIC_BUS_CYCLES_NS) on the VM", errno: .invalidArgument)) {
            try vm.setAPICBusCycle(nanoseconds: 1_000_000_000 / Self.apicHz)
        }
        if !x2apic { try vm.mapXAPIC() }
        await vm.expectRun(ucalls: [.done])
    }
}
