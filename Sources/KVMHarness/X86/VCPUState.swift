#if arch(x86_64)
internal import CKVM
import Glibc

// One small method per ioctl for the x86 vCPU state, and the whole state saved from one vCPU and loaded into
// another (the kernel selftests' vcpu_save_state / vcpu_load_state), as a migration does.

extension VCPU {
    /// Sets pending and injected exceptions, interrupts, NMIs and SMIs (`KVM_SET_VCPU_EVENTS`); `events.flags`
    /// says which optional parts KVM takes.
    public func setEvents(_ events: kvm_vcpu_events) throws(KVMError) {
        var copy = events
        try kvmIoctl(fd, CKVM_SET_VCPU_EVENTS, &copy, "KVM_SET_VCPU_EVENTS")
    }

    /// The multiprocessing state (`KVM_GET_MP_STATE`): `KVM_MP_STATE_RUNNABLE`, `_HALTED`, `_INIT_RECEIVED`, ...
    public func mpState() throws(KVMError) -> UInt32 {
        var state = kvm_mp_state()
        try kvmIoctl(fd, CKVM_GET_MP_STATE, &state, "KVM_GET_MP_STATE")
        return state.mp_state
    }

    /// Sets the multiprocessing state (`KVM_SET_MP_STATE`).
    public func setMPState(_ value: UInt32) throws(KVMError) {
        var state = kvm_mp_state(mp_state: value)
        try kvmIoctl(fd, CKVM_SET_MP_STATE, &state, "KVM_SET_MP_STATE")
    }

    /// The x87 and SSE state (`KVM_GET_FPU`).
    public func fpu() throws(KVMError) -> kvm_fpu {
        var state = kvm_fpu()
        try kvmIoctl(fd, CKVM_GET_FPU, &state, "KVM_GET_FPU")
        return state
    }

    /// Sets the x87 and SSE state (`KVM_SET_FPU`).
    public func setFPU(_ state: kvm_fpu) throws(KVMError) {
        var copy = state
        try kvmIoctl(fd, CKVM_SET_FPU, &copy, "KVM_SET_FPU")
    }

    /// The XSAVE area, in KVM's (non-compacted) layout: `KVM_GET_XSAVE2` with as many bytes as
    /// `KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2)` on the VM says, or `KVM_GET_XSAVE`'s 4096 where that is 0.
    public func xsave() throws(KVMError) -> [UInt8] {
        let size2 = Int(KVM.check(state.fd, .xsave2))
        let size = max(size2, MemoryLayout<kvm_xsave>.size)
        var area = [UInt8](repeating: 0, count: size)
        let (request, name) = size2 > 0 ? (CKVM_GET_XSAVE2, "KVM_GET_XSAVE2") : (CKVM_GET_XSAVE, "KVM_GET_XSAVE")
        // The buffer has the size KVM writes (KVM_CAP_XSAVE2's value, or sizeof(struct kvm_xsave)).
        _ = try kvmIoctl(fd, request, &area, name)
        return area
    }

    /// Loads an XSAVE area (`KVM_SET_XSAVE`); it must be at least 4096 bytes, as `xsave()` returns it.
    public func setXSAVE(_ area: [UInt8]) throws(KVMError) {
        guard area.count >= MemoryLayout<kvm_xsave>.size else {
            throw .invalidArgument("an XSAVE area has at least \(MemoryLayout<kvm_xsave>.size) bytes, not \(area.count)")
        }
        // KVM reads at most KVM_CAP_XSAVE2's size, which is the size xsave() returned.
        var copy = area
        _ = try kvmIoctl(fd, CKVM_SET_XSAVE, &copy, "KVM_SET_XSAVE")
    }

    /// The extended control registers (`KVM_GET_XCRS`).
    public func xcrs() throws(KVMError) -> kvm_xcrs {
        var value = kvm_xcrs()
        try kvmIoctl(fd, CKVM_GET_XCRS, &value, "KVM_GET_XCRS")
        return value
    }

    /// Sets the extended control registers (`KVM_SET_XCRS`).
    public func setXCRs(_ value: kvm_xcrs) throws(KVMError) {
        var copy = value
        try kvmIoctl(fd, CKVM_SET_XCRS, &copy, "KVM_SET_XCRS")
    }

    /// DR0-DR3, DR6 and DR7 (`KVM_GET_DEBUGREGS`).
    public func debugRegisters() throws(KVMError) -> kvm_debugregs {
        var value = kvm_debugregs()
        try kvmIoctl(fd, CKVM_GET_DEBUGREGS, &value, "KVM_GET_DEBUGREGS")
        return value
    }

    /// Sets DR0-DR3, DR6 and DR7 (`KVM_SET_DEBUGREGS`).
    public func setDebugRegisters(_ value: kvm_debugregs) throws(KVMError) {
        var copy = value
        try kvmIoctl(fd, CKVM_SET_DEBUGREGS, &copy, "KVM_SET_DEBUGREGS")
    }

    /// The guest TSC frequency in kHz (`KVM_GET_TSC_KHZ`).
    public func tscKHz() throws(KVMError) -> UInt32 {
        UInt32(try kvmIoctl(fd, CKVM_GET_TSC_KHZ, 0, "KVM_GET_TSC_KHZ"))
    }

    /// Sets the guest TSC frequency in kHz (`KVM_SET_TSC_KHZ`, with `KVM_CAP_TSC_CONTROL`).
    public func setTSCKHz(_ kHz: UInt32) throws(KVMError) {
        _ = try kvmIoctl(fd, CKVM_SET_TSC_KHZ, UInt(kHz), "KVM_SET_TSC_KHZ")
    }

    /// The nested virtualization state (`KVM_GET_NESTED_STATE`), or nil where KVM has none to give
    /// (`KVM_CAP_NESTED_STATE` is 0, as on hosts without nested VMX or SVM).
    public func nestedState() throws(KVMError) -> [UInt8]? {
        let size = Int(KVM.check(state.fd, .nestedState))
        guard size >= 8 else { return nil }
        var area = [UInt8](repeating: 0, count: size)
        // SAFETY: `size` bytes, and the header's size field says so, as KVM requires.
        area.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(size), toByteOffset: 4, as: UInt32.self) }
        _ = try kvmIoctl(fd, CKVM_GET_NESTED_STATE, &area, "KVM_GET_NESTED_STATE")
        return area
    }

    /// Loads nested virtualization state (`KVM_SET_NESTED_STATE`) as `nestedState()` returned it.
    public func setNestedState(_ area: [UInt8]) throws(KVMError) {
        guard area.count >= 128 else { throw .invalidArgument("nested state has a 128-byte header, got \(area.count)") }
        var copy = area
        _ = try kvmIoctl(fd, CKVM_SET_NESTED_STATE, &copy, "KVM_SET_NESTED_STATE")
    }

    /// Completes an I/O or MMIO exit inside KVM without running the guest further (`KVM_RUN` with
    /// `immediate_exit` set), so that its state can be saved: KVM finishes an emulated instruction only on the
    /// next `KVM_RUN`.
    public func completePendingIO() throws(KVMError) {
        ckvm_run_set_immediate_exit(run, 1)
        defer { if !isKicked { ckvm_run_set_immediate_exit(run, 0) } }
        let result = system_ioctl(fd.rawValue, CKVM_RUN, 0)
        let error = Glibc.errno
        guard result < 0, error == EINTR else {
            throw result < 0
                ? .ioctlFailed(operation: "KVM_RUN (immediate exit)", errno: .init(rawValue: error))
                : .invalidArgument("KVM_RUN with immediate_exit set ran the guest (exit \(exitInKVMRun().summary))")
        }
    }

    /// Everything needed to move this vCPU to another VM: events, MP state, registers, XSAVE, XCRs, special
    /// registers, nested state, every MSR in `KVM_GET_MSR_INDEX_LIST`, debug registers, read in that order after
    /// completing a pending I/O exit (the kernel selftests' `vcpu_save_state`).
    public func saveState() throws(KVMError) -> VCPUState {
        try completePendingIO()
        let kvm = try KVM.shared()
        let events = try events()
        let mpState = try mpState()
        let registers = try registers()
        let xsave = try xsave()
        let xcrs = kvm.has(.xcrs) ? try xcrs() : nil
        let special = try specialRegisters()
        let nested = try nestedState()
        let indices = try kvm.msrIndexList()
        let msrs = try readMSRs(indices)
        guard msrs.count == indices.count else {
            throw .msrNotProcessed(index: indices[msrs.count], write: nil)
        }
        return VCPUState(
            events: events, mpState: mpState, registers: registers, xsave: xsave, xcrs: xcrs,
            specialRegisters: special, nested: nested, msrs: msrs, debugRegisters: try debugRegisters())
    }

    /// Loads state saved with `saveState()`, in the order KVM needs it: special registers, MSRs, XCRs, XSAVE,
    /// events, MP state, debug registers, general registers, nested state (`vcpu_load_state`).
    ///
    /// - Throws: `.msrNotProcessed` naming the first MSR KVM refused, or the failing ioctl.
    public func loadState(_ saved: VCPUState) throws(KVMError) {
        try setSpecialRegisters(saved.specialRegisters)
        let written = try writeMSRs(saved.msrs)
        guard written == saved.msrs.count else {
            throw .msrNotProcessed(index: saved.msrs[written].index, write: saved.msrs[written].value)
        }
        if let xcrs = saved.xcrs { try setXCRs(xcrs) }
        try setXSAVE(saved.xsave)
        try setEvents(saved.events)
        try setMPState(saved.mpState)
        try setDebugRegisters(saved.debugRegisters)
        try setRegisters(saved.registers)
        if let nested = saved.nested { try setNestedState(nested) }
    }
}

/// A vCPU's whole state, as `VCPU.saveState()` reads it and `VCPU.loadState(_:)` loads it.
public struct VCPUState: @unchecked Sendable {
    // Sendable: every member is a value (C structs of integers, arrays of bytes or integers); nothing points
    // anywhere.

    /// `KVM_GET_VCPU_EVENTS`.
    public var events: kvm_vcpu_events
    /// `KVM_GET_MP_STATE`.
    public var mpState: UInt32
    /// `KVM_GET_REGS`.
    public var registers: kvm_regs
    /// `KVM_GET_XSAVE2` (or `KVM_GET_XSAVE`).
    public var xsave: [UInt8]
    /// `KVM_GET_XCRS`, where KVM has `KVM_CAP_XCRS`.
    public var xcrs: kvm_xcrs?
    /// `KVM_GET_SREGS`.
    public var specialRegisters: kvm_sregs
    /// `KVM_GET_NESTED_STATE`, where KVM has nested state.
    public var nested: [UInt8]?
    /// Every MSR in `KVM_GET_MSR_INDEX_LIST`, with its value.
    public var msrs: [MSREntry]
    /// `KVM_GET_DEBUGREGS`.
    public var debugRegisters: kvm_debugregs
}

extension VirtualMachine {
    /// The kvmclock as the VM sees it (`KVM_GET_CLOCK`): `clock` in nanoseconds, and with `KVM_CLOCK_REALTIME`
    /// and `KVM_CLOCK_HOST_TSC` in `flags` the host's real time and TSC at the same instant.
    public func clock() throws(KVMError) -> kvm_clock_data {
        var data = kvm_clock_data()
        try kvmIoctl(state.fd, CKVM_GET_CLOCK, &data, "KVM_GET_CLOCK")
        return data
    }

    /// Sets the kvmclock (`KVM_SET_CLOCK`); `flags` may carry `KVM_CLOCK_REALTIME` to advance it by the real time
    /// elapsed since `realtime`.
    public func setClock(_ data: kvm_clock_data) throws(KVMError) {
        var copy = data
        try kvmIoctl(state.fd, CKVM_SET_CLOCK, &copy, "KVM_SET_CLOCK")
    }
}
#endif
