import KVMHarnessTesting
import TestGuests
import Testing

/// Port of Linux 6.12 `x86_64/platform_info_test.c`: `KVM_CAP_MSR_PLATFORM_INFO` decides whether the guest may read
/// MSR_PLATFORM_INFO, and the guest sees what the host wrote there.
@Suite("selftest platform_info_test", .requiresKVM)
struct PlatformInfoTests {
    @Test("readable with the capability enabled, #GP with it disabled", .requires(.msrPlatformInfo))
    func guestAccess() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_platform_info))
        let vcpu = vm.vcpus[0]
        let msr = UInt32(MSR_PLATFORM_INFO)
        let original = try vcpu.msr(msr)
        try vcpu.setMSR(msr, to: original | UInt64(PLATFORM_INFO_MAX_TURBO_RATIO))

        // Each SYNC's stage says whether the guest may read the MSR next.
        for allowed: UInt64 in [1, 0] {
            let ucall = try vcpu.nextUcall()
            try #require(ucall == .sync([allowed]))
            try vm.enableCapability(.msrPlatformInfo, arguments: [allowed])
        }
        #expect(try vcpu.nextUcall() == .done)
        // The C test writes the original value back before freeing the VM. That write tests nothing, and KVM after
        // 6.12 (this host's 6.18) refuses it: MSR_PLATFORM_INFO can no longer change once the vCPU has run.
    }
}
