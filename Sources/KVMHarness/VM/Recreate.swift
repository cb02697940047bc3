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
    /// - Throws: `.ioctlFailed("KVM_CREATE_VM")`, or `KVM_SET_USER_MEMORY_REGION` naming the slot KVM refused.
    public func recreate() throws(KVMError) -> VirtualMachine {
        let vmFD = FileDescriptor(rawValue: try kvmIoctl(kvm.fd, CKVM_CREATE_VM, 0, "KVM_CREATE_VM"))
        let newState = VMState(fd: vmFD, physicalAddressBits: state.physicalAddressBits)
        newState.memslots = state.memslots
        newState.backings = state.backings
        newState.ucallAddress = state.ucallAddress
        newState.hostCalls = state.hostCalls
        for slot in state.memslots.slots {
            var region = kvm_userspace_memory_region()
            region.slot = slot.slot
            region.flags = slot.readOnly ? UInt32(KVM_MEM_READONLY) : 0
            region.guest_phys_addr = slot.guestPhysicalAddress
            region.memory_size = slot.size
            region.userspace_addr = UInt64(slot.hostAddress)
            try kvmIoctl(vmFD, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION (slot \(slot.slot))")
        }
        if state.hasInterruptController {
            _ = try kvmIoctl(vmFD, CKVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP")
            newState.hasInterruptController = true
        }
        return VirtualMachine(recreating: self, state: newState)
    }
}

extension VirtualMachine {
    /// Creates the in-kernel interrupt controller: an IOAPIC, the PICs and a local APIC in every vCPU created after
    /// it (`KVM_CREATE_IRQCHIP`). Call it before adding vCPUs. VMs have none by default; with one, a guest HLT waits
    /// for an interrupt instead of exiting, and the local APIC's MSRs (x2APIC, `MSR_KVM_ASYNC_PF_INT`, ...) work.
    ///
    /// - Throws: `.invalidArgument` once vCPUs exist; `.ioctlFailed("KVM_CREATE_IRQCHIP")` with KVM's errno
    ///   (EEXIST for a second one).
    public func createInterruptController() throws(KVMError) {
        guard vcpus.isEmpty else {
            throw .invalidArgument("create the interrupt controller before the VM's vCPUs (it has \(vcpus.count))")
        }
        _ = try kvmIoctl(state.fd, CKVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP")
        state.hasInterruptController = true
    }
}
