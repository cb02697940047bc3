import KVMHarnessTesting
import TestGuests
import Testing

/// Port of Linux 6.12 `x86_64/monitor_mwait_test.c`: MONITOR and MWAIT raise #UD only when the guest lacks MWAIT
/// (in CPUID, or in IA32_MISC_ENABLE) and the quirk that hides the #UD is disabled; otherwise KVM runs them as NOPs.
@Suite("selftest monitor_mwait_test", .requiresKVM)
struct MonitorMwaitTests {
    /// The test cases in the order the guest runs them (MWAIT_QUIRK_DISABLED, MISC_ENABLES_QUIRK_DISABLED and
    /// MWAIT_DISABLED bits).
    static let testcases: [UInt64] = [0x4, 0x5, 0x6, 0x2, 0x7, 0x3]

    // As in the C test, the host's own CPU must have MWAIT (KVM never lists it in KVM_GET_SUPPORTED_CPUID). On the
    // kvm_pvm development host it has not, and the test skips, as the C test does; run anyway, KVM's emulator
    // (which runs CPL0 code there) fails on MONITOR with INTERNAL_ERROR/EMULATION.
    @Test(
        "six combinations of the two quirks and MWAIT in IA32_MISC_ENABLE",
        .requires(.hostCPUFeature(.mwait)), .requires(.disableQuirks2))
    func monitorMwait() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_monitor_mwait))
        let vcpu = vm.vcpus[0]
        var cpuid = try vcpu.cpuid()
        cpuid.clear(.mwait)
        try vcpu.setCPUID(cpuid)

        for testcase in Self.testcases {
            try #require(try vcpu.nextUcall() == .sync([testcase]))
            var quirks: UInt64 = 0
            if testcase & UInt64(MWAIT_QUIRK_DISABLED) != 0 { quirks |= UInt64(KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) }
            if testcase & UInt64(MISC_ENABLES_QUIRK_DISABLED) != 0 {
                quirks |= UInt64(KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT)
            }
            try vm.enableCapability(.disableQuirks2, arguments: [quirks])

            // With the MISC_ENABLE quirk on, KVM does not update CPUID from IA32_MISC_ENABLE, and CPUID cannot
            // change once the vCPU has run: MWAIT stays disabled, the only configuration such a case may ask for.
            guard testcase & UInt64(MISC_ENABLES_QUIRK_DISABLED) != 0 else {
                #expect(testcase & UInt64(MWAIT_DISABLED) != 0, "testcase \(testcase) cannot enable MWAIT")
                continue
            }
            let mwaitDisabled = testcase & UInt64(MWAIT_DISABLED) != 0
            try vcpu.setMSR(UInt32(MSR_IA32_MISC_ENABLE), to: mwaitDisabled ? 0 : MSR_IA32_MISC_ENABLE_MWAIT)
        }
        #expect(try vcpu.nextUcall() == .done)
    }
}
