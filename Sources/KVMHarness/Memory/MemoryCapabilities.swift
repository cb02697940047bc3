internal import CKVM

extension Capability {
    /// `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`: `KVM_CLEAR_DIRTY_LOG`, and `KVM_GET_DIRTY_LOG` that leaves pages
    /// writable; the value is the mask of the flags it takes.
    public static let manualDirtyLogProtect2 = Capability(rawValue: Int32(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2))
    /// `KVM_CAP_DIRTY_LOG_RING_ACQ_REL`: the dirty ring on hosts with weak memory ordering (and x86 too).
    public static let dirtyLogRingAcquireRelease = Capability(rawValue: Int32(KVM_CAP_DIRTY_LOG_RING_ACQ_REL))
    /// `KVM_CAP_COALESCED_MMIO`: the page of the vCPU mapping the coalesced ring is in (0: no coalesced MMIO).
    public static let coalescedMMIO = Capability(rawValue: Int32(KVM_CAP_COALESCED_MMIO))
    /// `KVM_CAP_COALESCED_PIO`: coalesced zones may be port ranges too.
    public static let coalescedPIO = Capability(rawValue: Int32(KVM_CAP_COALESCED_PIO))
}
