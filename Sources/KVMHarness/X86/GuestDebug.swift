#if arch(x86_64)
internal import CKVM

/// What `KVM_SET_GUEST_DEBUG` asks of a vCPU: single-stepping, software and hardware breakpoints, and the debug
/// registers KVM uses for them (`struct kvm_guest_debug`). Debug exceptions then exit as `VcpuExit.debug`.
public struct GuestDebug: Sendable, Hashable {
    /// `KVM_GUESTDBG_*` control bits.
    public struct Control: OptionSet, Sendable, Hashable {
        public var rawValue: UInt32
        /// The set from its `KVM_GUESTDBG_*` bits.
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// `KVM_GUESTDBG_ENABLE`: guest debugging on (without it the other bits do nothing).
        public static let enable = Control(rawValue: UInt32(KVM_GUESTDBG_ENABLE))
        /// `KVM_GUESTDBG_SINGLESTEP`: exit after every instruction.
        public static let singleStep = Control(rawValue: UInt32(KVM_GUESTDBG_SINGLESTEP))
        /// `KVM_GUESTDBG_USE_SW_BP`: INT3 exits to user space instead of reaching the guest.
        public static let softwareBreakpoints = Control(rawValue: UInt32(KVM_GUESTDBG_USE_SW_BP))
        /// `KVM_GUESTDBG_USE_HW_BP`: the debug registers below set breakpoints and watchpoints.
        public static let hardwareBreakpoints = Control(rawValue: UInt32(KVM_GUESTDBG_USE_HW_BP))
        /// `KVM_GUESTDBG_INJECT_DB`: inject #DB into the guest.
        public static let injectDebugException = Control(rawValue: UInt32(KVM_GUESTDBG_INJECT_DB))
        /// `KVM_GUESTDBG_INJECT_BP`: inject #BP into the guest.
        public static let injectBreakpoint = Control(rawValue: UInt32(KVM_GUESTDBG_INJECT_BP))
        /// `KVM_GUESTDBG_BLOCKIRQ`: no interrupts while single-stepping.
        public static let blockInterrupts = Control(rawValue: UInt32(KVM_GUESTDBG_BLOCKIRQ))
    }

    /// The control bits.
    public var control: Control
    /// DR0-DR7 as KVM should use them with `.hardwareBreakpoints` (DR0-DR3 addresses, DR7 enables and kinds).
    public var debugRegisters: [UInt64]

    /// Guest debug with these controls and debug registers (padded with zeros to eight).
    public init(control: Control, debugRegisters: [UInt64] = []) {
        self.control = control
        self.debugRegisters = Array((debugRegisters + [UInt64](repeating: 0, count: 8)).prefix(8))
    }

    /// Guest debug off.
    public static let disabled = GuestDebug(control: [])
}

extension VCPU {
    /// Sets guest debugging (`KVM_SET_GUEST_DEBUG`).
    public func setGuestDebug(_ debug: GuestDebug) throws(KVMError) {
        var request = kvm_guest_debug()
        request.control = debug.control.rawValue
        withUnsafeMutableBytes(of: &request.arch.debugreg) { registers in
            for (i, value) in debug.debugRegisters.prefix(8).enumerated() {
                registers.storeBytes(of: value, toByteOffset: i * 8, as: UInt64.self)
            }
        }
        try kvmIoctl(fd, CKVM_SET_GUEST_DEBUG, &request, "KVM_SET_GUEST_DEBUG")
    }
}
#endif
