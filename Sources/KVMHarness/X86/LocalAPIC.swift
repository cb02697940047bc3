#if arch(x86_64)
internal import CKVM

/// A local APIC register: its offset in the xAPIC's 4 KiB MMIO page and in `struct kvm_lapic_state` (the x2APIC
/// MSR is 0x800 + offset / 16). The names follow the SDM; the kernel's `APIC_*` constants are in the docs.
public struct LocalAPICRegister: RawRepresentable, Hashable, Sendable {
    /// The byte offset (a multiple of 16, below 0x400).
    public var rawValue: Int
    /// A register at `rawValue`.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The x2APIC MSR that reads and writes it (0x800 + offset / 16).
    public var x2apicMSR: UInt32 { 0x800 + UInt32(rawValue >> 4) }

    /// `APIC_ID` (0x20): the APIC ID, in bits 31:24 in xAPIC mode, all 32 bits in x2APIC mode.
    public static let id = LocalAPICRegister(rawValue: 0x20)
    /// `APIC_LVR` (0x30): version and the number of LVT entries.
    public static let version = LocalAPICRegister(rawValue: 0x30)
    /// `APIC_TASKPRI` (0x80): the task priority.
    public static let taskPriority = LocalAPICRegister(rawValue: 0x80)
    /// `APIC_PROCPRI` (0xA0): the processor priority.
    public static let processorPriority = LocalAPICRegister(rawValue: 0xA0)
    /// `APIC_EOI` (0xB0): end of interrupt.
    public static let endOfInterrupt = LocalAPICRegister(rawValue: 0xB0)
    /// `APIC_LDR` (0xD0): the logical destination.
    public static let logicalDestination = LocalAPICRegister(rawValue: 0xD0)
    /// `APIC_SPIV` (0xF0): the spurious-interrupt vector and the software enable bit (bit 8).
    public static let spuriousVector = LocalAPICRegister(rawValue: 0xF0)
    /// `APIC_ISR` (0x100): the first of 8 in-service registers, 16 bytes apart.
    public static let inService = LocalAPICRegister(rawValue: 0x100)
    /// `APIC_TMR` (0x180): the first of 8 trigger-mode registers.
    public static let triggerMode = LocalAPICRegister(rawValue: 0x180)
    /// `APIC_IRR` (0x200): the first of 8 interrupt-request registers.
    public static let interruptRequest = LocalAPICRegister(rawValue: 0x200)
    /// `APIC_ICR` (0x300): the interrupt command, low half (the whole 64 bits as one MSR in x2APIC mode).
    public static let interruptCommand = LocalAPICRegister(rawValue: 0x300)
    /// `APIC_ICR2` (0x310): the interrupt command's destination, in xAPIC mode.
    public static let interruptCommandHigh = LocalAPICRegister(rawValue: 0x310)
    /// `APIC_LVTT` (0x320): the timer's LVT entry.
    public static let timerLVT = LocalAPICRegister(rawValue: 0x320)
    /// `APIC_TMICT` (0x380): the timer's initial count.
    public static let timerInitialCount = LocalAPICRegister(rawValue: 0x380)
    /// `APIC_TMCCT` (0x390): the timer's current count.
    public static let timerCurrentCount = LocalAPICRegister(rawValue: 0x390)
    /// `APIC_TDCR` (0x3E0): the timer's divide configuration.
    public static let timerDivide = LocalAPICRegister(rawValue: 0x3E0)
}

/// A vCPU's local APIC registers as `KVM_GET_LAPIC` returns them (`struct kvm_lapic_state`: the xAPIC page's first
/// 1 KiB), with typed access. In x2APIC mode KVM keeps the x2APIC ID in `APIC_ID` as it is (with
/// `KVM_X2APIC_API_USE_32BIT_IDS`) and the destination in the high half of the 64-bit ICR at 0x310.
public struct LocalAPICState: Sendable, Equatable {
    /// The 1024 bytes of `kvm_lapic_state.regs`.
    public var bytes: [UInt8]

    /// All-zero registers (what `KVM_SET_LAPIC` of a zeroed `struct kvm_lapic_state` gives).
    public init() { bytes = [UInt8](repeating: 0, count: 1024) }

    init(_ state: kvm_lapic_state) {
        bytes = withUnsafeBytes(of: state.regs) { Array($0) }
    }

    var kernelState: kvm_lapic_state {
        var state = kvm_lapic_state()
        withUnsafeMutableBytes(of: &state.regs) { $0.copyBytes(from: bytes.prefix($0.count)) }
        return state
    }

    /// The 32-bit register at `register`.
    public subscript(register: LocalAPICRegister) -> UInt32 {
        get {
            precondition(register.rawValue >= 0 && register.rawValue <= 1020, "APIC register outside the page")
            return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: register.rawValue, as: UInt32.self) }
        }
        set {
            precondition(register.rawValue >= 0 && register.rawValue <= 1020, "APIC register outside the page")
            bytes.withUnsafeMutableBytes { $0.storeBytes(of: newValue, toByteOffset: register.rawValue, as: UInt32.self) }
        }
    }

    /// The 64-bit interrupt command: ICR (0x300) in the low half, ICR2 (0x310) in the high half.
    public var interruptCommand: UInt64 {
        get { UInt64(self[.interruptCommand]) | UInt64(self[.interruptCommandHigh]) << 32 }
        set {
            self[.interruptCommand] = UInt32(truncatingIfNeeded: newValue)
            self[.interruptCommandHigh] = UInt32(truncatingIfNeeded: newValue >> 32)
        }
    }

    /// The 256-bit interrupt-request register as four u64s, vector 0 in bit 0 of the first: the 8 IRR words at
    /// 0x200, 0x210, ... 0x270.
    public var interruptRequests: [UInt64] {
        get { (0..<4).map { UInt64(word(0x200, 2 * $0)) | UInt64(word(0x200, 2 * $0 + 1)) << 32 } }
        set {
            for i in 0..<4 {
                self[LocalAPICRegister(rawValue: 0x200 + 0x20 * i)] = UInt32(truncatingIfNeeded: newValue[i])
                self[LocalAPICRegister(rawValue: 0x210 + 0x20 * i)] = UInt32(truncatingIfNeeded: newValue[i] >> 32)
            }
        }
    }

    private func word(_ base: Int, _ index: Int) -> UInt32 { self[LocalAPICRegister(rawValue: base + 0x10 * index)] }
}

/// The local APIC's mode, from `IA32_APIC_BASE` bits 11 (enable) and 10 (x2APIC).
public enum APICMode: Sendable, Hashable {
    /// Bit 11 clear.
    case disabled
    /// Bit 11 set, bit 10 clear: registers in the MMIO page at the base address.
    case xAPIC
    /// Bits 11 and 10 set: registers in MSRs 0x800 to 0x8FF.
    case x2APIC
    /// Bit 10 without bit 11, which the architecture does not allow.
    case invalid

    /// `IA32_APIC_BASE` (MSR 0x1B).
    public static let baseMSR: UInt32 = 0x1B
    /// `IA32_APIC_BASE` bit 8: this is the bootstrap processor.
    public static let bootstrapProcessorBit: UInt64 = 1 << 8
    static let x2apicBit: UInt64 = 1 << 10
    static let enableBit: UInt64 = 1 << 11

    /// The mode an `IA32_APIC_BASE` value selects.
    public init(apicBase: UInt64) {
        switch (apicBase & Self.enableBit != 0, apicBase & Self.x2apicBit != 0) {
        case (false, false): self = .disabled
        case (true, false): self = .xAPIC
        case (true, true): self = .x2APIC
        case (false, true): self = .invalid
        }
    }

    /// `apicBase` with the enable and x2APIC bits of this mode (nil for `.invalid`, which has no such value).
    public func applied(to apicBase: UInt64) -> UInt64 {
        let rest = apicBase & ~(Self.enableBit | Self.x2apicBit)
        switch self {
        case .disabled: return rest
        case .xAPIC: return rest | Self.enableBit
        case .x2APIC: return rest | Self.enableBit | Self.x2apicBit
        case .invalid: return rest | Self.x2apicBit
        }
    }
}

extension VCPU {
    /// The local APIC's registers (`KVM_GET_LAPIC`).
    ///
    /// - Throws: `.ioctlFailed("KVM_GET_LAPIC")` with ENXIO when the VM has no in-kernel local APIC.
    public func localAPIC() throws(KVMError) -> LocalAPICState {
        var state = kvm_lapic_state()
        try kvmIoctl(fd, CKVM_GET_LAPIC, &state, "KVM_GET_LAPIC")
        return LocalAPICState(state)
    }

    /// Replaces the local APIC's registers (`KVM_SET_LAPIC`). KVM keeps the x2APIC ID read-only in x2APIC mode.
    ///
    /// - Throws: `.ioctlFailed("KVM_SET_LAPIC")` with KVM's errno (ENXIO without an in-kernel local APIC).
    public func setLocalAPIC(_ registers: LocalAPICState) throws(KVMError) {
        var state = registers.kernelState
        try kvmIoctl(fd, CKVM_SET_LAPIC, &state, "KVM_SET_LAPIC")
    }

    /// `IA32_APIC_BASE` (`KVM_GET_MSRS` of MSR 0x1B): base address, enable, x2APIC and bootstrap-processor bits.
    public func apicBase() throws(KVMError) -> UInt64 { try msr(APICMode.baseMSR) }

    /// The local APIC's mode, from `IA32_APIC_BASE`.
    public func apicMode() throws(KVMError) -> APICMode { APICMode(apicBase: try apicBase()) }

    /// Switches the local APIC's mode by writing `IA32_APIC_BASE` from the host (`KVM_SET_MSRS`), as a VMM
    /// restoring state does; KVM then rewrites `APIC_ID` in the new mode's format.
    ///
    /// - Throws: `.msrNotHandled` for a transition KVM refuses.
    public func setAPICMode(_ mode: APICMode) throws(KVMError) {
        try setMSR(APICMode.baseMSR, to: mode.applied(to: try apicBase()))
    }

    /// Injects external interrupt `vector` into a vCPU of a VM without an in-kernel interrupt controller
    /// (`KVM_INTERRUPT`): KVM delivers it at the next `KVM_RUN` if the guest can take interrupts then. Request an
    /// interrupt window first (`requestsInterruptWindow`) and inject when the vCPU exits with `IRQ_WINDOW_OPEN`.
    ///
    /// - Throws: `.ioctlFailed("KVM_INTERRUPT")` with KVM's errno (ENXIO with an in-kernel local APIC, EEXIST if
    ///   one is already pending).
    public func injectInterrupt(vector: UInt8) throws(KVMError) {
        var interrupt = kvm_interrupt()
        interrupt.irq = UInt32(vector)
        try kvmIoctl(fd, CKVM_INTERRUPT, &interrupt, "KVM_INTERRUPT")
    }

    /// Queues a non-maskable interrupt for the vCPU (`KVM_NMI`), delivered at its next `KVM_RUN`.
    public func injectNMI() throws(KVMError) {
        _ = try kvmIoctl(fd, CKVM_NMI, 0, "KVM_NMI")
    }

    /// Whether KVM should exit with `KVM_EXIT_IRQ_WINDOW_OPEN` as soon as the guest can take an interrupt
    /// (`kvm_run.request_interrupt_window`, for a user-space interrupt controller). Set it between runs, on the
    /// thread that drives the vCPU.
    public var requestsInterruptWindow: Bool {
        get { run.pointee.request_interrupt_window != 0 }
        set { ckvm_run_set_request_interrupt_window(run, newValue ? 1 : 0) }
    }

    /// Whether the guest could take an interrupt at the last exit (`kvm_run.ready_for_interrupt_injection`).
    public var isReadyForInterruptInjection: Bool { ckvm_run_ready_for_interrupt_injection(run) != 0 }

    /// Whether the vCPU is halted in the kernel, waiting for an interrupt (`KVM_GET_MP_STATE` is
    /// `KVM_MP_STATE_HALTED`): with an in-kernel local APIC, what a HLT leaves it in.
    public func isHalted() throws(KVMError) -> Bool { try mpState() == UInt32(KVM_MP_STATE_HALTED) }
}
#endif
