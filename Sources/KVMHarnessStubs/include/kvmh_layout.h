// The guest-virtual layout that the harness reserves for its own structures, shared by the stubs (assembly) and
// the host library (Swift imports these integer macros). Everything lives in the top 512 GiB of the canonical
// upper half (PML4 slot 511), so it never collides with guest code, which lives in the lower half: in-process
// guest code at the addresses the host process uses, and stand-alone images wherever they were linked.
//
// The stubs are position independent and reach the data page by its absolute address only.
#ifndef KVMH_LAYOUT_H
#define KVMH_LAYOUT_H

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

#endif
