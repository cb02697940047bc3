// The guest-virtual layout that the harness reserves for its own structures, shared by the stubs (assembly), the
// guest runtime and the host library (Swift imports these integer macros). One layout per guest architecture, with
// the same macro names where the meaning carries over; macros that only one architecture has are defined only there.
//
// The stubs are position independent and reach the data page by its absolute address only.
#ifndef KVMH_LAYOUT_H
#define KVMH_LAYOUT_H

#if defined(__x86_64__)

// x86-64: everything lives in the top 512 GiB of the canonical upper half (PML4 slot 511), so it never collides
// with guest code, which lives in the lower half: in-process guest code at the addresses the host process uses, and
// stand-alone images wherever they were linked.

/// Start of the reserved region (inclusive).
#define KVMH_RESERVED_BASE 0xFFFFFF8000000000ULL
/// The stub code (exception entry points, the entry-return trampoline), read-only and executable.
#define KVMH_STUBS_GVA 0xFFFFFF8000000000ULL
/// The harness data page: the ucall MMIO address and the exception handler table.
#define KVMH_DATA_GVA 0xFFFFFF8000010000ULL
/// Offset in the data page of the ucall MMIO guest-physical address (a u64).
#define KVMH_DATA_UCALL_GPA 0x0
/// Offset in the data page of the handler table: 256 u64 guest-virtual addresses, one per vector (exceptions 0 to
/// 31, interrupts 32 to 255), 0 = report UNHANDLED.
#define KVMH_DATA_HANDLERS 0x100
/// The interrupt descriptor table (256 gates of 16 bytes), shared by every vCPU.
#define KVMH_IDT_GVA 0xFFFFFF8000020000ULL
/// Per-vCPU blocks start here, one every KVMH_VCPU_STRIDE bytes.
#define KVMH_VCPU_BASE 0xFFFFFF8000100000ULL
#define KVMH_VCPU_STRIDE 0x40000ULL
/// Offsets inside a vCPU block.
#define KVMH_VCPU_GDT 0x0000
#define KVMH_VCPU_TSS 0x1000
/// The exception stack (IST1), with an unmapped guard page below it.
#define KVMH_VCPU_EXCEPTION_STACK 0x4000
#define KVMH_VCPU_EXCEPTION_STACK_SIZE 0x4000
/// The page FS points at: %fs:0 holds its own address and %fs:0x28 the stack protector's canary. The page below it
/// is unmapped, so a `__thread` variable (which lives below FS) faults instead of corrupting harness state.
#define KVMH_VCPU_TLS 0x9000
/// The interrupt stack (IST2, for vectors 32 to 255), with an unmapped guard page below it. Interrupts get a
/// stack of their own because guest C code is not built with -mno-red-zone: an interrupt taken on the guest
/// stack would overwrite the 128 bytes below RSP that a leaf function may use; and apart from the exception
/// stack, so that an exception inside an interrupt handler does not overwrite the interrupt's frame.
#define KVMH_VCPU_INTERRUPT_STACK 0xB000
#define KVMH_VCPU_INTERRUPT_STACK_SIZE 0x4000
/// The guest stack, with an unmapped guard page below it.
#define KVMH_VCPU_STACK 0x10000
#define KVMH_VCPU_STACK_SIZE 0x20000
/// End of the reserved region (exclusive).
#define KVMH_RESERVED_END 0xFFFFFFFFFFFFF000ULL

/// The value in R9 that marks an instruction run by a guest `_safe` function (processor.h): an exception whose
/// RIP equals R10 resumes at R11 with the vector in R9 and the error code in R10. ("KVMHSAFE" in ASCII; no suffix,
/// so that the assembler takes it too.)
#define KVMH_SAFE_MAGIC 0x45464153484D564B

/// Size of the stub table entries: vector N's entry point (0 to 255) is at KVMH_STUBS_GVA + N * KVMH_STUB_ENTRY_SIZE.
#define KVMH_STUB_ENTRY_SIZE 16

#elif defined(__aarch64__)

// arm64: the guest runs at EL1 with TTBR0_EL1 only (48-bit VA, 4 KiB granule; TTBR1 walks disabled), so everything
// lives in the top 512 GiB of the lower half (the last level-0 entry of TTBR0's tables): 0x0000FF8000000000 up to
// 2^48. Guest code lies below it: in-process guest code at the addresses the host executable is loaded at (a static
// executable at 0x400000, a PIE near 2/3 of the 48-bit space), stand-alone images wherever they were linked, and
// the ucall MMIO address, which the address search keeps below 2^(VA bits - 1). The host process's own stack and
// mmap area may lie at these addresses on an arm64 host; guest code never sees the host's mappings, only what the
// harness maps, so that does not matter.

/// Start of the reserved region (inclusive).
#define KVMH_RESERVED_BASE 0x0000FF8000000000ULL
/// The stub code (the exception vector table, the entry-return trampoline), read-only and executable. 4 KiB
/// aligned, so the vector table inside it keeps its 2 KiB alignment.
#define KVMH_STUBS_GVA 0x0000FF8000000000ULL
/// Offset from kvmh_stubs_start (and so from KVMH_STUBS_GVA) of the exception vector table that VBAR_EL1 points
/// at: 16 entries of 128 bytes, 2 KiB aligned as VBAR_EL1 requires.
#define KVMH_A64_VECTORS_OFFSET 0x0
/// Size of one vector-table entry: entry N (0 to 15) is at KVMH_STUBS_GVA + KVMH_A64_VECTORS_OFFSET + N * 128.
#define KVMH_A64_VECTOR_ENTRY_SIZE 0x80
/// The harness data page.
#define KVMH_DATA_GVA 0x0000FF8000010000ULL
/// Offset in the data page of the ucall MMIO guest-physical address (a u64), which the stubs store to.
#define KVMH_DATA_UCALL_GPA 0x0
/// Per-vCPU blocks start here, one every KVMH_VCPU_STRIDE bytes.
#define KVMH_VCPU_BASE 0x0000FF8000100000ULL
#define KVMH_VCPU_STRIDE 0x40000ULL
/// Offsets inside a vCPU block.
/// The exception stack (SP_EL1: exceptions are taken in EL1h on it), with an unmapped guard page below it.
#define KVMH_VCPU_EXCEPTION_STACK 0x4000
#define KVMH_VCPU_EXCEPTION_STACK_SIZE 0x4000
/// The guest stack (SP_EL0: guest code runs in EL1t on it), with an unmapped guard page below it.
#define KVMH_VCPU_STACK 0x10000
#define KVMH_VCPU_STACK_SIZE 0x20000
/// End of the reserved region (exclusive).
#define KVMH_RESERVED_END 0x0000FFFFFFFFF000ULL

#else
#error "KVMHarness guest layout: unsupported architecture (x86-64 and arm64 only)"
#endif

#endif
