#if arch(x86_64)
internal import CKVM
internal import KVMHarnessGuest

// The x86-64 parts of a vCPU: its registers, and what the ucall path needs from them (CR3 and CS.DPL for the walk,
// RDI for the port-I/O transport).
extension VCPU {
    /// The port of the x86 port-I/O ucall transport.
    public static let ucallPort = UInt16(UCALL_PIO_PORT)

    /// The struct's address is in RDI: from `kvm_run` where KVM copies the general-purpose registers, otherwise by
    /// `KVM_GET_REGS`, after which KVM is asked to copy them, as this vCPU uses the port-I/O transport.
    func decodePIOUcall() throws(KVMError) -> Ucall {
        if syncedRegistersMask & UInt64(KVM_SYNC_X86_REGS) != 0 {
            return try decodeUcall(at: ckvm_run_sync_regs(run).pointee.rdi, transport: .pio)
        }
        let rdi = try registers().rdi
        if !registersChosenByTest {
            syncedRegistersMask |= UInt64(KVM_SYNC_X86_REGS)
            ckvm_run_set_valid_regs(run, syncedRegistersMask)
        }
        return try decodeUcall(at: rdi, transport: .pio)
    }

    /// The page-table root and whether the guest was in user mode (CPL3) at the exit, for the ucall walk: from the
    /// copy of the special registers in `kvm_run` (requested when the vCPU is made), otherwise `KVM_GET_SREGS`.
    @inline(__always)
    func translationAtExit() throws(KVMError) -> (root: UInt64, userMode: Bool) {
        if syncedRegistersMask & UInt64(KVM_SYNC_X86_SREGS) != 0 {
            let sregs = ckvm_run_sync_sregs(run)!
            return (sregs.pointee.cr3, sregs.pointee.cs.dpl == 3)
        }
        let sregs = try specialRegisters()
        return (sregs.cr3, sregs.cs.dpl == 3)
    }

    /// RIP at the last exit (0 if it cannot be read), for error messages.
    var programCounterAtLastExit: UInt64 { lastExitRegisters.rip }

    // MARK: - Registers

    /// The general-purpose registers at the last exit: the copy in `kvm_run` where KVM makes one
    /// (`syncedRegisters` has `.general`), otherwise read with `KVM_GET_REGS` (zeros if that fails).
    public var lastExitRegisters: kvm_regs {
        if syncedRegistersMask & UInt64(KVM_SYNC_X86_REGS) != 0 { return ckvm_run_sync_regs(run).pointee }
        return (try? registers()) ?? kvm_regs()
    }

    /// The special registers at the last exit: the copy in `kvm_run` where KVM makes one (`syncedRegisters` has
    /// `.special`, the default), otherwise read with `KVM_GET_SREGS` (zeros if that fails).
    public var lastExitSpecialRegisters: kvm_sregs {
        if syncedRegistersMask & UInt64(KVM_SYNC_X86_SREGS) != 0 { return ckvm_run_sync_sregs(run).pointee }
        return (try? specialRegisters()) ?? kvm_sregs()
    }

    /// The general-purpose registers (`KVM_GET_REGS`).
    public func registers() throws(KVMError) -> kvm_regs {
        var regs = kvm_regs()
        try kvmIoctl(fd, CKVM_GET_REGS, &regs, "KVM_GET_REGS")
        return regs
    }

    /// Sets the general-purpose registers (`KVM_SET_REGS`).
    public func setRegisters(_ regs: kvm_regs) throws(KVMError) {
        var copy = regs
        try kvmIoctl(fd, CKVM_SET_REGS, &copy, "KVM_SET_REGS")
    }

    /// The special registers (`KVM_GET_SREGS`).
    public func specialRegisters() throws(KVMError) -> kvm_sregs {
        var sregs = kvm_sregs()
        try kvmIoctl(fd, CKVM_GET_SREGS, &sregs, "KVM_GET_SREGS")
        return sregs
    }

    /// Sets the special registers (`KVM_SET_SREGS`).
    public func setSpecialRegisters(_ sregs: kvm_sregs) throws(KVMError) {
        var copy = sregs
        try kvmIoctl(fd, CKVM_SET_SREGS, &copy, "KVM_SET_SREGS")
    }

    /// Pending and injected exceptions, interrupts and NMIs (`KVM_GET_VCPU_EVENTS`).
    public func events() throws(KVMError) -> kvm_vcpu_events {
        var events = kvm_vcpu_events()
        try kvmIoctl(fd, CKVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS")
        return events
    }

    /// Translates a guest-virtual address through the vCPU's current paging mode and page tables
    /// (`KVM_TRANSLATE`): the guest-physical address and whether the mapping is valid, writable and user-accessible.
    public func translate(_ gva: UInt64) throws(KVMError) -> kvm_translation {
        var translation = kvm_translation()
        translation.linear_address = gva
        try kvmIoctl(fd, CKVM_TRANSLATE, &translation, "KVM_TRANSLATE")
        return translation
    }

    /// Sets the CPUID the guest sees (`KVM_SET_CPUID2`). Set it before the special registers: KVM derives the
    /// guest's MAXPHYADDR from it, and the reserved-bit checks on the page tables follow.
    public func setCPUID(_ table: CPUIDTable) throws(KVMError) {
        try table.withKVMCPUID2 { (pointer) throws(KVMError) in
            _ = try kvmIoctl(fd, CKVM_SET_CPUID2, pointer, "KVM_SET_CPUID2")
        }
    }

    /// Sets XCR0 (`KVM_SET_XCRS`).
    public func setXCR0(_ value: UInt64) throws(KVMError) {
        var xcrs = kvm_xcrs()
        xcrs.nr_xcrs = 1
        xcrs.xcrs.0.xcr = 0
        xcrs.xcrs.0.value = value
        try kvmIoctl(fd, CKVM_SET_XCRS, &xcrs, "KVM_SET_XCRS")
    }
}
#endif
