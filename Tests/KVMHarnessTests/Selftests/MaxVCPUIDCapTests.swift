import KVMHarnessTesting
import Testing

/// Port of Linux 6.12 `x86_64/max_vcpuid_cap_test.c`: setting `KVM_CAP_MAX_VCPU_ID` on a VM, its limits, and the
/// vCPU ids KVM refuses afterwards.
@Suite("selftest max_vcpuid_cap_test", .requiresKVM)
struct MaxVCPUIDCapTests {
    /// The per-VM limit the test sets: vCPU ids 0 and 1 only.
    static let maxID = 2

    /// The error KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID) on the VM fails with when KVM refuses the value.
    static let refusedLimit = KVMError.ioctlFailed(
        operation: "KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID) on the VM", errno: .invalidArgument)
    /// The error KVM_CREATE_VCPU fails with for an id KVM refuses.
    static let refusedID = KVMError.ioctlFailed(operation: "KVM_CREATE_VCPU", errno: .invalidArgument)

    @Test("above KVM's own limit, below the boot vCPU, twice: refused; then ids at or above it and with high bits")
    func limits() throws {
        // No vCPUs yet: the limit can only be set before the first one.
        let vm = try VirtualMachine()
        let kvmLimit = UInt64(vm.check(.maxVCPUID))

        #expect(throws: Self.refusedLimit) { try vm.enableCapability(.maxVCPUID, arguments: [kvmLimit + 1]) }

        if vm.kvm.has(.setBootCPUID) {
            try vm.setBootVCPU(id: Self.maxID)
            #expect(throws: Self.refusedLimit, "a limit below the boot vCPU's id") {
                try vm.enableCapability(.maxVCPUID, arguments: [UInt64(Self.maxID - 1)])
            }
        }

        try vm.enableCapability(.maxVCPUID, arguments: [UInt64(Self.maxID)])
        #expect(throws: Self.refusedLimit, "the limit is set once") {
            try vm.enableCapability(.maxVCPUID, arguments: [UInt64(Self.maxID + 1)])
        }

        #expect(throws: Self.refusedID, "an id at the limit") { try vm.addBareVCPU(id: Self.maxID) }
        #expect(throws: Self.refusedID, "id 0 with bits 63:32 set") { try vm.addBareVCPU(id: 1 << 32) }
        let vcpu = try vm.addBareVCPU(id: 0)
        #expect(vcpu.index == 0)
    }
}
