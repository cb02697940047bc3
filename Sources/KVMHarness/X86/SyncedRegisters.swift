#if arch(x86_64)
internal import CKVM

/// Which register sets KVM copies into `kvm_run` at every exit and takes from it at the next entry
/// (`kvm_run.kvm_valid_regs` and `kvm_dirty_regs`, with `KVM_CAP_SYNC_REGS`).
public struct SyncedRegisters: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    /// A set from its `KVM_SYNC_X86_*` bits (a bit KVM does not define makes the next `KVM_RUN` fail with EINVAL).
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// `KVM_SYNC_X86_REGS`: the general-purpose registers (`kvm_regs`).
    public static let general = SyncedRegisters(rawValue: UInt64(KVM_SYNC_X86_REGS))
    /// `KVM_SYNC_X86_SREGS`: the special registers (`kvm_sregs`).
    public static let special = SyncedRegisters(rawValue: UInt64(KVM_SYNC_X86_SREGS))
    /// `KVM_SYNC_X86_EVENTS`: pending events (`kvm_vcpu_events`).
    public static let events = SyncedRegisters(rawValue: UInt64(KVM_SYNC_X86_EVENTS))
}

extension VCPU {
    /// The register sets KVM copies into `kvm_run` at every exit (`kvm_run.kvm_valid_regs`).
    ///
    /// By default `.special` only, which the ucall page walk needs (CR3); the general-purpose registers are added
    /// when the vCPU first makes a port-I/O ucall (RDI). Setting this is the test's choice and stays as set: the
    /// ucall path then reads what it needs with an ioctl where the set lacks it, so ucalls keep working whatever
    /// is chosen. Set it between runs, from the thread that drives the vCPU.
    public var syncedRegisters: SyncedRegisters {
        get { SyncedRegisters(rawValue: syncedRegistersMask) }
        set {
            registersChosenByTest = true
            syncedRegistersMask = newValue.rawValue
            ckvm_run_set_valid_regs(run, newValue.rawValue)
        }
    }

    /// The register sets the test has written into `kvm_run` for KVM to load at the next `KVM_RUN`
    /// (`kvm_run.kvm_dirty_regs`; KVM clears each bit as it loads that set).
    public var dirtySyncedRegisters: SyncedRegisters {
        get { SyncedRegisters(rawValue: run.pointee.kvm_dirty_regs) }
        set { run.pointee.kvm_dirty_regs = newValue.rawValue }
    }

    /// The general-purpose registers in `kvm_run` (valid after an exit when `syncedRegisters` has `.general`).
    /// Writing them marks `.general` dirty, so KVM loads them at the next run, without `KVM_SET_REGS`.
    public var syncedGeneralRegisters: kvm_regs {
        get { run.pointee.s.regs.regs }
        set {
            run.pointee.s.regs.regs = newValue
            run.pointee.kvm_dirty_regs |= UInt64(KVM_SYNC_X86_REGS)
        }
    }

    /// The special registers in `kvm_run` (valid after an exit when `syncedRegisters` has `.special`). Writing
    /// them marks `.special` dirty.
    public var syncedSpecialRegisters: kvm_sregs {
        get { run.pointee.s.regs.sregs }
        set {
            run.pointee.s.regs.sregs = newValue
            run.pointee.kvm_dirty_regs |= UInt64(KVM_SYNC_X86_SREGS)
        }
    }

    /// The vCPU events in `kvm_run` (valid after an exit when `syncedRegisters` has `.events`). Writing them
    /// marks `.events` dirty.
    public var syncedEvents: kvm_vcpu_events {
        get { run.pointee.s.regs.events }
        set {
            run.pointee.s.regs.events = newValue
            run.pointee.kvm_dirty_regs |= UInt64(KVM_SYNC_X86_EVENTS)
        }
    }
}
#endif
