/// An AArch64 exception syndrome (ESR_ELx), decoded: what kind of exception it was, and for aborts what the access
/// was and why it faulted.
///
/// The layout: EC, the exception class, in bits 31:26; IL, 32-bit instruction, bit 25; ISS, the class-specific
/// syndrome, bits 24:0. For data aborts the ISS holds ISV (24), SAS (23:22), SSE (21), SRT (20:16), SF (15), AR (14),
/// FnV (10), EA (9), CM (8), S1PTW (7), WnR (6) and DFSC (5:0); SAS to AR are valid only when ISV is set.
public struct ExceptionSyndrome: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The ESR_ELx value.
    public var rawValue: UInt64

    /// The syndrome `rawValue`, as read from ESR_EL1 (or as the guest reports it).
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The exception class, ESR_ELx.EC (bits 31:26). Classes a guest test meets have names; any other prints its
    /// number.
    public struct ExceptionClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The 6-bit EC value.
        public var rawValue: UInt8
        /// The class numbered `rawValue`.
        public init(rawValue: UInt8) { self.rawValue = rawValue & 0x3f }

        /// 0x00: an unknown reason, such as an undefined instruction.
        public static let unknown = Self(rawValue: 0x00)
        /// 0x01: a trapped WFI or WFE (or WFIT/WFET).
        public static let waitForInterruptOrEvent = Self(rawValue: 0x01)
        /// 0x07: an access to SVE, Advanced SIMD or floating point trapped by CPACR_EL1.FPEN or similar.
        public static let floatingPointAccess = Self(rawValue: 0x07)
        /// 0x0e: an illegal execution state (PSTATE.IL set).
        public static let illegalExecutionState = Self(rawValue: 0x0e)
        /// 0x15: SVC in AArch64.
        public static let supervisorCall = Self(rawValue: 0x15)
        /// 0x16: HVC in AArch64.
        public static let hypervisorCall = Self(rawValue: 0x16)
        /// 0x17: SMC in AArch64.
        public static let secureMonitorCall = Self(rawValue: 0x17)
        /// 0x18: a trapped MSR, MRS or system instruction.
        public static let systemRegisterTrap = Self(rawValue: 0x18)
        /// 0x20: an instruction abort from a lower exception level (EL0, for a guest at EL1).
        public static let instructionAbortLowerEL = Self(rawValue: 0x20)
        /// 0x21: an instruction abort taken without a change of exception level.
        public static let instructionAbortSameEL = Self(rawValue: 0x21)
        /// 0x22: a misaligned PC.
        public static let pcAlignment = Self(rawValue: 0x22)
        /// 0x24: a data abort from a lower exception level.
        public static let dataAbortLowerEL = Self(rawValue: 0x24)
        /// 0x25: a data abort taken without a change of exception level.
        public static let dataAbortSameEL = Self(rawValue: 0x25)
        /// 0x26: a misaligned stack pointer.
        public static let spAlignment = Self(rawValue: 0x26)
        /// 0x2c: a trapped floating-point exception (AArch64).
        public static let floatingPointException = Self(rawValue: 0x2c)
        /// 0x2f: an SError interrupt.
        public static let serror = Self(rawValue: 0x2f)
        /// 0x30: a hardware breakpoint from a lower exception level.
        public static let breakpointLowerEL = Self(rawValue: 0x30)
        /// 0x31: a hardware breakpoint at the same exception level.
        public static let breakpointSameEL = Self(rawValue: 0x31)
        /// 0x32: a software step from a lower exception level.
        public static let softwareStepLowerEL = Self(rawValue: 0x32)
        /// 0x33: a software step at the same exception level.
        public static let softwareStepSameEL = Self(rawValue: 0x33)
        /// 0x34: a watchpoint from a lower exception level.
        public static let watchpointLowerEL = Self(rawValue: 0x34)
        /// 0x35: a watchpoint at the same exception level.
        public static let watchpointSameEL = Self(rawValue: 0x35)
        /// 0x3c: a BRK instruction (AArch64).
        public static let breakInstruction = Self(rawValue: 0x3c)

        /// Whether this is a data abort (from a lower or the same EL).
        public var isDataAbort: Bool { self == .dataAbortLowerEL || self == .dataAbortSameEL }
        /// Whether this is an instruction abort (from a lower or the same EL).
        public var isInstructionAbort: Bool { self == .instructionAbortLowerEL || self == .instructionAbortSameEL }

        /// "data abort at the same EL", "SVC", "exception class 0x3", ...
        public var description: String {
            switch self {
            case .unknown: return "unknown reason (an undefined instruction?)"
            case .waitForInterruptOrEvent: return "trapped WFI/WFE"
            case .floatingPointAccess: return "trapped FP/SIMD access"
            case .illegalExecutionState: return "illegal execution state"
            case .supervisorCall: return "SVC"
            case .hypervisorCall: return "HVC"
            case .secureMonitorCall: return "SMC"
            case .systemRegisterTrap: return "trapped system register access"
            case .instructionAbortLowerEL: return "instruction abort from a lower EL"
            case .instructionAbortSameEL: return "instruction abort at the same EL"
            case .pcAlignment: return "PC alignment fault"
            case .dataAbortLowerEL: return "data abort from a lower EL"
            case .dataAbortSameEL: return "data abort at the same EL"
            case .spAlignment: return "SP alignment fault"
            case .floatingPointException: return "floating-point exception"
            case .serror: return "SError"
            case .breakpointLowerEL: return "breakpoint from a lower EL"
            case .breakpointSameEL: return "breakpoint at the same EL"
            case .softwareStepLowerEL: return "software step from a lower EL"
            case .softwareStepSameEL: return "software step at the same EL"
            case .watchpointLowerEL: return "watchpoint from a lower EL"
            case .watchpointSameEL: return "watchpoint at the same EL"
            case .breakInstruction: return "BRK"
            default: return "exception class \(hex(rawValue))"
            }
        }
    }

    /// Why an abort happened: the fault status code, DFSC or IFSC (ISS bits 5:0). Levels are stage-1 lookup levels
    /// (0 to 3), or -1 for the extra level FEAT_LPA2 adds.
    public enum FaultStatus: Hashable, Sendable, CustomStringConvertible {
        /// An output address (or TTBR) has bits beyond the configured size.
        case addressSize(level: Int)
        /// No valid descriptor at `level`.
        case translation(level: Int)
        /// The descriptor at `level` has AF clear.
        case accessFlag(level: Int)
        /// The descriptor at `level` does not permit the access.
        case permission(level: Int)
        /// A synchronous external abort, not on a table walk.
        case synchronousExternalAbort
        /// A synchronous external abort on the table walk's read at `level`.
        case synchronousExternalAbortOnWalk(level: Int)
        /// A synchronous tag check fault (MTE).
        case tagCheck
        /// A parity or ECC error on the access.
        case parityError
        /// A parity or ECC error on the table walk's read at `level`.
        case parityErrorOnWalk(level: Int)
        /// An alignment fault.
        case alignment
        /// A TLB conflict abort.
        case tlbConflict
        /// An atomic hardware update of a descriptor the memory does not support.
        case unsupportedAtomicUpdate
        /// Any other code.
        case other(UInt8)

        /// Decodes a 6-bit fault status code.
        public init(code: UInt8) {
            let level = Int(code & 3)
            switch code & 0x3f {
            case 0x00...0x03: self = .addressSize(level: level)
            case 0x29: self = .addressSize(level: -1)
            case 0x04...0x07: self = .translation(level: level)
            case 0x2b: self = .translation(level: -1)
            case 0x08...0x0b: self = .accessFlag(level: level)
            case 0x0c...0x0f: self = .permission(level: level)
            case 0x10: self = .synchronousExternalAbort
            case 0x11: self = .tagCheck
            case 0x13: self = .synchronousExternalAbortOnWalk(level: -1)
            case 0x14...0x17: self = .synchronousExternalAbortOnWalk(level: level)
            case 0x18: self = .parityError
            case 0x1b: self = .parityErrorOnWalk(level: -1)
            case 0x1c...0x1f: self = .parityErrorOnWalk(level: level)
            case 0x21: self = .alignment
            case 0x30: self = .tlbConflict
            case 0x31: self = .unsupportedAtomicUpdate
            default: self = .other(code & 0x3f)
            }
        }

        /// "translation fault at level 3", "alignment fault", "fault status 0x22".
        public var description: String {
            switch self {
            case .addressSize(let level): return "address size fault at level \(level)"
            case .translation(let level): return "translation fault at level \(level)"
            case .accessFlag(let level): return "access flag fault at level \(level)"
            case .permission(let level): return "permission fault at level \(level)"
            case .synchronousExternalAbort: return "synchronous external abort"
            case .synchronousExternalAbortOnWalk(let level):
                return "synchronous external abort on the table walk at level \(level)"
            case .tagCheck: return "tag check fault"
            case .parityError: return "parity/ECC error"
            case .parityErrorOnWalk(let level): return "parity/ECC error on the table walk at level \(level)"
            case .alignment: return "alignment fault"
            case .tlbConflict: return "TLB conflict abort"
            case .unsupportedAtomicUpdate: return "unsupported atomic hardware update fault"
            case .other(let code): return "fault status \(hex(code))"
            }
        }
    }

    @inline(__always)
    private func bit(_ n: UInt64) -> Bool { rawValue >> n & 1 != 0 }

    /// EC, bits 31:26.
    public var exceptionClass: ExceptionClass { ExceptionClass(rawValue: UInt8(truncatingIfNeeded: rawValue >> 26)) }
    /// IL, bit 25: the trapped instruction is 32 bits long (clear for a 16-bit T32 instruction, and for some classes
    /// such as SError or a PC alignment fault where it is RES1 anyway).
    public var instructionIs32Bit: Bool { bit(25) }
    /// ISS, bits 24:0: the class-specific syndrome.
    public var iss: UInt32 { UInt32(truncatingIfNeeded: rawValue & 0x1ff_ffff) }

    /// Whether the class is a data or instruction abort, so the abort fields below mean something.
    public var isAbort: Bool { exceptionClass.isDataAbort || exceptionClass.isInstructionAbort }
    /// ISV, bit 24 of a data abort's ISS: SAS, SSE, SRT, SF and AR hold a valid instruction syndrome. Clear for a
    /// store pair, a load/store with writeback, and other instructions a hypervisor cannot emulate from the syndrome.
    public var instructionSyndromeValid: Bool { exceptionClass.isDataAbort && bit(24) }
    /// SAS, bits 23:22, as the access size in bytes (1, 2, 4, 8); nil unless ISV is set.
    public var accessSize: Int? { instructionSyndromeValid ? 1 << Int(rawValue >> 22 & 3) : nil }
    /// SSE, bit 21: a load sign-extends; nil unless ISV is set.
    public var signExtends: Bool? { instructionSyndromeValid ? bit(21) : nil }
    /// SRT, bits 20:16: the register the load writes or the store reads (31 is XZR/WZR); nil unless ISV is set.
    public var register: Int? { instructionSyndromeValid ? Int(rawValue >> 16 & 0x1f) : nil }
    /// SF, bit 15: the register is 64-bit (Xn) rather than 32-bit (Wn); nil unless ISV is set.
    public var sixtyFourBitRegister: Bool? { instructionSyndromeValid ? bit(15) : nil }
    /// AR, bit 14: the access has acquire/release semantics; nil unless ISV is set.
    public var acquireRelease: Bool? { instructionSyndromeValid ? bit(14) : nil }
    /// FnV, bit 10 of an abort: FAR is not valid (it holds an UNKNOWN value).
    public var farNotValid: Bool { isAbort && bit(10) }
    /// EA, bit 9 of an abort: an external abort type, implementation defined.
    public var externalAbort: Bool { isAbort && bit(9) }
    /// CM, bit 8 of a data abort: it came from a cache maintenance or address translation instruction.
    public var cacheMaintenance: Bool { exceptionClass.isDataAbort && bit(8) }
    /// S1PTW, bit 7 of an abort: a stage-2 fault on the stage-1 table walk (seen by a hypervisor, not the guest).
    public var stage1TableWalk: Bool { isAbort && bit(7) }
    /// WnR, bit 6 of a data abort: the access was a write (for an atomic read-modify-write, either may be set).
    public var isWrite: Bool { exceptionClass.isDataAbort && bit(6) }
    /// DFSC or IFSC, bits 5:0 of an abort, named; nil for other classes.
    public var faultStatus: FaultStatus? { isAbort ? FaultStatus(code: UInt8(rawValue & 0x3f)) : nil }

    /// The trapped MSR/MRS of a system register trap: (op0, op1, CRn, CRm, op2, Rt, read); nil for other classes.
    package var systemRegisterAccess: (op0: Int, op1: Int, crn: Int, crm: Int, op2: Int, rt: Int, read: Bool)? {
        guard exceptionClass == .systemRegisterTrap else { return nil }
        let iss = UInt64(self.iss)
        return (
            Int(iss >> 20 & 3), Int(iss >> 14 & 7), Int(iss >> 10 & 0xf), Int(iss >> 1 & 0xf), Int(iss >> 17 & 7),
            Int(iss >> 5 & 0x1f), iss & 1 != 0
        )
    }

    /// One line for a test failure: "data abort at the same EL: translation fault at level 3, 8-byte write of x1",
    /// "SVC #0x42", "trapped system register access: MRS x2, S3_0_C0_C7_0". An abort with ISV clear says so, since
    /// the hypervisor could not emulate it.
    public var description: String {
        let ec = exceptionClass
        let immediate = hex(iss & 0xffff)
        switch ec {
        case .supervisorCall, .hypervisorCall, .secureMonitorCall, .breakInstruction:
            return "\(ec) #\(immediate)"
        case .systemRegisterTrap:
            guard let access = systemRegisterAccess else { return ec.description }
            let name = "S\(access.op0)_\(access.op1)_C\(access.crn)_C\(access.crm)_\(access.op2)"
            let rt = access.rt == 31 ? "xzr" : "x\(access.rt)"
            return "\(ec): " + (access.read ? "MRS \(rt), \(name)" : "MSR \(name), \(rt)")
        case .waitForInterruptOrEvent:
            return "\(ec) (\(["WFI", "WFE", "WFIT", "WFET"][Int(iss & 3)]))"
        default:
            break
        }
        guard let status = faultStatus else { return "\(ec), ISS \(hex(iss))" }
        var parts = ["\(status)"]
        if ec.isDataAbort { parts.append(accessDescription) }
        if stage1TableWalk { parts.append("on the stage-1 table walk") }
        if cacheMaintenance { parts.append("by a cache maintenance instruction") }
        if farNotValid { parts.append("FAR not valid") }
        return "\(ec): " + parts.joined(separator: ", ")
    }

    /// "8-byte write of x1", "4-byte sign-extending read into w0", "write (no valid instruction syndrome)".
    private var accessDescription: String {
        let direction = isWrite ? "write" : "read"
        guard let size = accessSize, let register, let wide = sixtyFourBitRegister else {
            return "\(direction) (no valid instruction syndrome)"
        }
        let name = register == 31 ? (wide ? "xzr" : "wzr") : (wide ? "x" : "w") + "\(register)"
        let kind = (signExtends == true ? "sign-extending " : "") + (acquireRelease == true ? "acquire/release " : "")
        return isWrite ? "\(size)-byte \(kind)write of \(name)" : "\(size)-byte \(kind)read into \(name)"
    }

    /// The one-line account of a `KVM_EXIT_ARM_NISV` exit: a data abort on an address outside every memslot whose
    /// syndrome KVM could not emulate (ISV clear), reported instead of failing `KVM_RUN` because
    /// `KVM_CAP_ARM_NISV_TO_USER` is enabled.
    ///
    /// - Parameters:
    ///   - iss: `kvm_run.arm_nisv.esr_iss`, the ESR bits KVM passes on (only WnR, CM and the fault status are kept).
    ///   - faultIPA: `kvm_run.arm_nisv.fault_ipa`, the guest-physical address of the access.
    package static func describeNoValidSyndrome(iss: UInt64, faultIPA: UInt64) -> String {
        let syndrome = ExceptionSyndrome(rawValue: UInt64(ExceptionClass.dataAbortLowerEL.rawValue) << 26 | iss & 0x1ff_ffff)
        let access = syndrome.isWrite ? "a write" : "a read"
        let cm = syndrome.cacheMaintenance ? " by a cache maintenance instruction" : ""
        return "\(access)\(cm) to guest-physical \(hex(faultIPA)), outside every memslot, that KVM cannot emulate: "
            + "the data abort has no valid instruction syndrome (ISV 0: a store pair, a load/store with writeback, "
            + "or another multi-register access); use a single-register load or store without writeback"
    }
}
