/// AArch64 vCPU registers: the `KVM_GET_ONE_REG`/`KVM_SET_ONE_REG` ids of the registers a guest test reads and
/// sets, and the values the harness gives the system registers.
///
/// The ids are the arm64 uapi's (`arch/arm64/include/uapi/asm/kvm.h`): a core register is
/// `KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offsetof(struct kvm_regs, reg) / 4)`, a system register
/// `KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG | op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2`.
public enum ARM64Registers {
    /// `KVM_REG_ARM64`: the architecture field of a register id.
    static let arm64: UInt64 = 0x6000_0000_0000_0000
    /// `KVM_REG_SIZE_U64`: the size field for a 64-bit register.
    static let sizeU64: UInt64 = 0x0030_0000_0000_0000
    /// `KVM_REG_ARM_CORE`: the coprocessor field of a `struct kvm_regs` member.
    static let core: UInt64 = 0x0010 << 16
    /// `KVM_REG_ARM64_SYSREG`: the coprocessor field of a system register.
    static let systemRegisterGroup: UInt64 = 0x0013 << 16

    /// The id of the 64-bit `struct kvm_regs` member at byte `offset`.
    static func coreRegister(offset: Int) -> UInt64 { arm64 | sizeU64 | core | UInt64(offset / 4) }

    /// The id of general-purpose register `n` (x0 to x30), `regs.regs[n]`.
    ///
    /// - Precondition: `n` is 0 to 30.
    public static func x(_ n: Int) -> UInt64 {
        precondition((0...30).contains(n), "arm64 has general-purpose registers x0 to x30, not x\(n)")
        return coreRegister(offset: 8 * n)
    }

    /// SP_EL0, `regs.sp`: the stack pointer the guest runs on (EL1t).
    public static let sp = coreRegister(offset: 248)
    /// The program counter, `regs.pc` (0x6030000000100040).
    public static let pc = coreRegister(offset: 256)
    /// PSTATE, `regs.pstate` (read and written as SPSR_EL2 would hold it).
    public static let pstate = coreRegister(offset: 264)
    /// SP_EL1, `sp_el1`: the stack exceptions are taken on (EL1h).
    public static let spEL1 = coreRegister(offset: 272)
    /// ELR_EL1, `elr_el1`: where the last exception taken to EL1 returns.
    public static let elrEL1 = coreRegister(offset: 280)
    /// SPSR_EL1, `spsr[KVM_SPSR_EL1]` (index 0): the PSTATE saved by the last exception taken to EL1.
    public static let spsrEL1 = coreRegister(offset: 288)

    /// The id of the system register encoded (op0, op1, CRn, CRm, op2), `ARM64_SYS_REG` in the uapi.
    public static func systemRegister(op0: Int, op1: Int, crn: Int, crm: Int, op2: Int) -> UInt64 {
        let encoding = UInt64(op0 & 3) << 14 | UInt64(op1 & 7) << 11 | UInt64(crn & 0xf) << 7
            | UInt64(crm & 0xf) << 3 | UInt64(op2 & 7)
        return arm64 | sizeU64 | systemRegisterGroup | encoding
    }

    /// MIDR_EL1 (3, 0, 0, 0, 0): the CPU's identification.
    public static let midrEL1 = systemRegister(op0: 3, op1: 0, crn: 0, crm: 0, op2: 0)
    /// MPIDR_EL1 (3, 0, 0, 0, 5): the vCPU's affinity, its id among the VM's vCPUs.
    public static let mpidrEL1 = systemRegister(op0: 3, op1: 0, crn: 0, crm: 0, op2: 5)
    /// ID_AA64PFR0_EL1 (3, 0, 0, 4, 0): processor features (FP, AdvSIMD, SVE, GIC, exception levels).
    public static let idAA64PFR0EL1 = systemRegister(op0: 3, op1: 0, crn: 0, crm: 4, op2: 0)
    /// ID_AA64MMFR0_EL1 (3, 0, 0, 7, 0): memory model features; PARange (bits 3:0) and the granules supported.
    public static let idAA64MMFR0EL1 = systemRegister(op0: 3, op1: 0, crn: 0, crm: 7, op2: 0)
    /// SCTLR_EL1 (3, 0, 1, 0, 0): system control; M turns the MMU on.
    public static let sctlrEL1 = systemRegister(op0: 3, op1: 0, crn: 1, crm: 0, op2: 0)
    /// CPACR_EL1 (3, 0, 1, 0, 2): whether FP/SIMD and SVE instructions trap.
    public static let cpacrEL1 = systemRegister(op0: 3, op1: 0, crn: 1, crm: 0, op2: 2)
    /// TTBR0_EL1 (3, 0, 2, 0, 0): the stage-1 table base for the lower virtual address range.
    public static let ttbr0EL1 = systemRegister(op0: 3, op1: 0, crn: 2, crm: 0, op2: 0)
    /// TTBR1_EL1 (3, 0, 2, 0, 1): the table base for the upper range, which the harness disables (TCR_EL1.EPD1).
    public static let ttbr1EL1 = systemRegister(op0: 3, op1: 0, crn: 2, crm: 0, op2: 1)
    /// TCR_EL1 (3, 0, 2, 0, 2): translation control.
    public static let tcrEL1 = systemRegister(op0: 3, op1: 0, crn: 2, crm: 0, op2: 2)
    /// ESR_EL1 (3, 0, 5, 2, 0): the syndrome of the last exception taken to EL1.
    public static let esrEL1 = systemRegister(op0: 3, op1: 0, crn: 5, crm: 2, op2: 0)
    /// FAR_EL1 (3, 0, 6, 0, 0): the faulting virtual address of the last abort taken to EL1.
    public static let farEL1 = systemRegister(op0: 3, op1: 0, crn: 6, crm: 0, op2: 0)
    /// MAIR_EL1 (3, 0, 10, 2, 0): the memory attributes AttrIndx selects.
    public static let mairEL1 = systemRegister(op0: 3, op1: 0, crn: 10, crm: 2, op2: 0)
    /// VBAR_EL1 (3, 0, 12, 0, 0): the exception vector table's base (2 KiB aligned).
    public static let vbarEL1 = systemRegister(op0: 3, op1: 0, crn: 12, crm: 0, op2: 0)
    /// TPIDR_EL1 (3, 0, 13, 0, 4): a software thread id register the guest runtime may use for per-vCPU data.
    public static let tpidrEL1 = systemRegister(op0: 3, op1: 0, crn: 13, crm: 0, op2: 4)
    /// The virtual counter, `KVM_REG_ARM_TIMER_CNT`: encoded (3, 3, 14, 3, 2), not CNTVCT_EL0's own (3, 3, 14, 0, 2),
    /// which the uapi gives to `KVM_REG_ARM_TIMER_CVAL` (a historical swap the ABI keeps).
    public static let timerCount = systemRegister(op0: 3, op1: 3, crn: 14, crm: 3, op2: 2)
    /// The virtual timer's compare value, `KVM_REG_ARM_TIMER_CVAL`: encoded (3, 3, 14, 0, 2) (see `timerCount`).
    public static let timerCompareValue = systemRegister(op0: 3, op1: 3, crn: 14, crm: 0, op2: 2)
    /// The virtual timer's control, `KVM_REG_ARM_TIMER_CTL` (CNTV_CTL_EL0, 3, 3, 14, 3, 1).
    public static let timerControl = systemRegister(op0: 3, op1: 3, crn: 14, crm: 3, op2: 1)

    // MARK: - The harness's register values

    /// The output address sizes ID_AA64MMFR0_EL1.PARange (and TCR_EL1.IPS) encode, indexed by the field's value.
    package static let physicalAddressRangeBits = [32, 36, 40, 42, 44, 48, 52, 56]

    /// The output address size in bits that a PARange (or IPS) field value encodes; nil for a reserved value.
    package static func physicalAddressBits(parange: UInt64) -> Int? {
        parange < UInt64(physicalAddressRangeBits.count) ? physicalAddressRangeBits[Int(parange)] : nil
    }

    /// The smallest PARange/IPS encoding whose size covers `bits` (at most 48 bits, 0b101: the 4 KiB granule without
    /// FEAT_LPA2 reaches no further). A size not in the table, such as a 39-bit IPA space, rounds up; an IPS larger
    /// than the CPU implements acts as the CPU's PARange.
    package static func parange(coveringBits bits: Int) -> UInt64 {
        UInt64(physicalAddressRangeBits.firstIndex { $0 >= min(bits, 48) } ?? 5)
    }

    /// TCR_EL1 for the harness's stage-1 tables: T0SZ = 64 - `virtualAddressBits`; walks of TTBR0 inner and outer
    /// write-back read/write-allocate (IRGN0 = ORGN0 = 0b01), inner shareable (SH0 = 0b11), 4 KiB granule
    /// (TG0 = 0b00); EPD1 set, so the TTBR1 range faults without a walk (T1SZ = T0SZ and TG1 = 4 KiB (0b10), to keep
    /// them valid); IPS covering `physicalAddressBits`; 8-bit ASIDs taken from TTBR0 (A1 = 0, AS = 0); no top-byte
    /// ignore and no hardware AF/dirty management.
    package static func tcr(virtualAddressBits: Int, physicalAddressBits: Int) -> UInt64 {
        let t0sz = UInt64(64 - min(max(virtualAddressBits, 25), 48))
        let irgn0: UInt64 = 0b01 << 8
        let orgn0: UInt64 = 0b01 << 10
        let sh0: UInt64 = 0b11 << 12
        let tg0: UInt64 = 0b00 << 14
        let t1sz = t0sz << 16
        let epd1: UInt64 = 1 << 23
        let tg1: UInt64 = 0b10 << 30
        let ips = parange(coveringBits: physicalAddressBits) << 32
        return t0sz | irgn0 | orgn0 | sh0 | tg0 | t1sz | epd1 | tg1 | ips
    }

    /// MAIR_EL1 for `Stage1PageTables`' descriptors: attribute 0 Device-nGnRE (0x04), attribute 1 Normal
    /// write-back (0xff).
    package static var mair: UInt64 { Stage1PageTables.mair }

    /// SCTLR_EL1 with the MMU on (M, bit 0), data and instruction caches enabled (C, bit 2; I, bit 12), and the
    /// bits that are RES1 in ARMv8.0 set: EOS (11), TSCXT (20), EIS (22), SPAN (23), nTLSMD (28), LSMAOE (29).
    /// Everything else is clear: little-endian, no alignment checks, no WXN, PAN left as the exception entry sets it.
    package static let sctlr: UInt64 = 1 << 0 | 1 << 2 | 1 << 12 | sctlrRES1
    /// The SCTLR_EL1 bits that are RES1 in ARMv8.0 (their later meanings keep the ARMv8.0 behaviour when set).
    package static let sctlrRES1: UInt64 = 1 << 11 | 1 << 20 | 1 << 22 | 1 << 23 | 1 << 28 | 1 << 29

    /// PSTATE for the guest's entry: EL1t (M[3:0] = 0b0100, running on SP_EL0, while exceptions are taken on
    /// SP_EL1) with D, A, I and F (bits 9:6) masked.
    package static let pstateEL1tMasked: UInt64 = 0b1111 << 6 | 0b0100
    /// PSTATE.M for EL1h, the mode an exception to EL1 enters (on SP_EL1).
    package static let pstateModeEL1h: UInt64 = 0b0101

    /// CPACR_EL1 with FPEN = 0b11 (bits 21:20): FP and Advanced SIMD instructions do not trap at EL0 or EL1 (the
    /// compiler may use SIMD registers in guest code).
    package static let cpacr: UInt64 = 0b11 << 20
}
