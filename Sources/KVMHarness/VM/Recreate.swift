internal import CKVM
import SystemPackage

extension VirtualMachine {
    /// A new KVM VM (`KVM_CREATE_VM`) over the same guest memory, with the same memslots, page tables, loaded code,
    /// ucall address and interrupt controller, and no vCPUs: for moving a vCPU's state to another VM, as a migration does (the kernel
    /// selftests' `kvm_vm_restart` / `vm_recreate_with_one_vcpu`). Add a vCPU with `addBareVCPU(id:)`, give it its
    /// CPUID with `setCPUID(_:)`, then `loadState(_:)`.
    ///
    /// Both VMs map the same host memory; run only one of them at a time.
    ///
    /// - Throws: `.invalidArgument` if a test slot is backed by a guest_memfd; `.ioctlFailed("KVM_CREATE_VM")`, or `KVM_SET_USER_MEMORY_REGION` naming the slot KVM refused.
    public func recreate() throws(KVMError) -> VirtualMachine {
        if let (number, _) = state.testSlotBackings.first(where: { $0.value.guestMemfd != nil }) {
            throw .invalidArgument("memslot \(number) is backed by a guest_memfd, which binds to one VM only: delete "
                + "the slot before recreate()")
        }
        #if arch(arm64)
        let (vmType, _) = try Self.armVMType(ipaBits: configuration.ipaBits, kvm: kvm)
        #else
        let vmType: UInt = 0
        #endif
        let vmFD = FileDescriptor(rawValue: try kvmIoctl(kvm.fd, CKVM_CREATE_VM, vmType, "KVM_CREATE_VM"))
        let newState = VMState(fd: vmFD, physicalAddressBits: state.physicalAddressBits)
        newState.memslots = state.memslots
        newState.backings = state.backings
        newState.testSlotBackings = state.testSlotBackings
        newState.ucallAddress = state.ucallAddress
        newState.hostCalls = state.hostCalls
        for slot in state.memslots.slots {
            var region = kvm_userspace_memory_region()
            region.slot = slot.slot
            region.flags = (slot.readOnly ? UInt32(KVM_MEM_READONLY) : 0)
                | (slot.logsDirtyPages ? UInt32(KVM_MEM_LOG_DIRTY_PAGES) : 0)
            region.guest_phys_addr = slot.guestPhysicalAddress
            region.memory_size = slot.size
            region.userspace_addr = UInt64(slot.hostAddress)
            try kvmIoctl(vmFD, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION (slot \(slot.slot))")
        }
        let vm = VirtualMachine(recreating: self, state: newState)
        try vm.setUpInterruptController(state.interruptController)
        return vm
    }
}
