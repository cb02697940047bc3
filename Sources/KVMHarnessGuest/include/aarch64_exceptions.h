// Numbers about arm64 exceptions that guest code and the host share: the vector-table entry index that the
// harness's stubs report as UNHANDLED's args[0] (stubs_aarch64.S), and the fields of ESR_EL1 (args[2]). Plain
// numbers, defined on every architecture, so that the host's ESR decoding is unit-tested on any machine. Values are
// from the Arm Architecture Reference Manual (the exception vectors, and the ESR_EL1 register description).
#ifndef KVMHARNESS_GUEST_AARCH64_EXCEPTIONS_H
#define KVMHARNESS_GUEST_AARCH64_EXCEPTIONS_H

/// Vector-table entry indices: VBAR_EL1 + index * 0x80. The guest runs in EL1t, so its own exceptions arrive at
/// 0 to 3; 4 to 7 are exceptions taken while already on SP_EL1 (inside an exception handler, or with SPSel = 1).
enum a64_vector_index {
    A64_VECTOR_SYNC_EL1T = 0,
    A64_VECTOR_IRQ_EL1T = 1,
    A64_VECTOR_FIQ_EL1T = 2,
    A64_VECTOR_SERROR_EL1T = 3,
    A64_VECTOR_SYNC_EL1H = 4,
    A64_VECTOR_IRQ_EL1H = 5,
    A64_VECTOR_FIQ_EL1H = 6,
    A64_VECTOR_SERROR_EL1H = 7,
    A64_VECTOR_SYNC_LOWER_A64 = 8,
    A64_VECTOR_IRQ_LOWER_A64 = 9,
    A64_VECTOR_FIQ_LOWER_A64 = 10,
    A64_VECTOR_SERROR_LOWER_A64 = 11,
    A64_VECTOR_SYNC_LOWER_A32 = 12,
    A64_VECTOR_IRQ_LOWER_A32 = 13,
    A64_VECTOR_FIQ_LOWER_A32 = 14,
    A64_VECTOR_SERROR_LOWER_A32 = 15,
    A64_VECTOR_COUNT = 16,
};

/// ESR_EL1.EC, the exception class: bits 31:26.
#define A64_ESR_EC_SHIFT 26
#define A64_ESR_EC_MASK 0x3fULL
/// ESR_EL1.IL: the trapped instruction was 32 bits long.
#define A64_ESR_IL (1ULL << 25)
/// ESR_EL1.ISS, the instruction-specific syndrome: bits 24:0.
#define A64_ESR_ISS_MASK 0x1ffffffULL

/// Exception classes the harness's tests meet.
#define A64_ESR_EC_UNKNOWN 0x00   ///< An undefined instruction (e.g. UDF).
#define A64_ESR_EC_WFX 0x01       ///< WFI or WFE, when trapped.
#define A64_ESR_EC_FP_ASIMD 0x07  ///< An FP or SIMD instruction with CPACR_EL1.FPEN trapping it.
#define A64_ESR_EC_ILLEGAL 0x0e   ///< Illegal execution state.
#define A64_ESR_EC_SVC64 0x15     ///< SVC from AArch64.
#define A64_ESR_EC_HVC64 0x16     ///< HVC from AArch64.
#define A64_ESR_EC_SYS64 0x18     ///< A trapped MSR, MRS or system instruction.
#define A64_ESR_EC_IABT_LOW 0x20  ///< Instruction abort from a lower EL.
#define A64_ESR_EC_IABT_CUR 0x21  ///< Instruction abort at the current EL.
#define A64_ESR_EC_PC_ALIGN 0x22  ///< PC alignment fault.
#define A64_ESR_EC_DABT_LOW 0x24  ///< Data abort from a lower EL.
#define A64_ESR_EC_DABT_CUR 0x25  ///< Data abort at the current EL.
#define A64_ESR_EC_SP_ALIGN 0x26  ///< SP alignment fault.
#define A64_ESR_EC_SERROR 0x2f    ///< SError interrupt.
#define A64_ESR_EC_BRK64 0x3c     ///< BRK from AArch64.

/// In an abort's ISS: the fault status code (DFSC/IFSC), bits 5:0; a translation fault at level N is 0x04 + N.
#define A64_ESR_ISS_FSC_MASK 0x3fULL
/// In a data abort's ISS: WnR, the abort was caused by a write.
#define A64_ESR_ISS_WNR (1ULL << 6)
/// In a data abort's ISS: ISV, the syndrome describes the access (bits 23:14 are valid). 0 for a store pair or a
/// writeback access: the reason KVM cannot emulate those as MMIO.
#define A64_ESR_ISS_ISV (1ULL << 24)

#endif
