// The raw-KVM baseline: the steps the harness takes to run a guest loop, done with bare ioctls from <linux/kvm.h>
// and no harness code, so that the benchmark can say what the harness itself costs.
//
// The guest gets what a 64-bit CPL0 guest needs and nothing more: one RAM memslot at guest-physical 0 (lazily
// backed), 4-level page tables with 4 KiB pages (the page size the harness uses, so that KVM's instruction emulator
// walks the same number of levels on both sides), a GDT with flat 64-bit code and data and a TSS descriptor, no
// IDT, long-mode special registers, a stack, and the guest code copied to 0x400000. The ucall MMIO page is
// identity-mapped at the address the harness would choose (5/8 of the guest-physical space).
#ifndef RAW_KVM_H
#define RAW_KVM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A VM set up by the baseline.
struct raw_vm;

/// Opens /dev/kvm once per process and reads KVM_GET_VCPU_MMAP_SIZE and KVM_GET_SUPPORTED_CPUID (as the library's
/// shared KVM handle does). Returns 0, or -1 with raw_kvm_last_error() set. Later calls return the first result.
int raw_kvm_open(void);

/// What the last failing call did, e.g. "KVM_SET_SREGS: Invalid argument".
const char *raw_kvm_last_error(void);

/// Creates a VM with `memory_size` bytes of guest RAM (one memslot), page tables, a GDT, a stack and the
/// identity-mapped ucall MMIO page, and no vCPU. Returns NULL on failure.
struct raw_vm *raw_vm_create(uint64_t memory_size);

/// Copies `code_size` bytes of guest code to guest-virtual 0x400000 (4 KiB pages, read-only, executable).
/// Returns 0, or -1 with the error set.
int raw_vm_copy_code(struct raw_vm *vm, const void *code, uint64_t code_size);

/// Creates the vCPU in long mode at 0x400000 + `entry_offset` (inside the copied code), with RDI = `count` and
/// RSI = the ucall MMIO address (or 0 if `port_io`, which selects the port-I/O transport of the benchmark loop).
/// `valid_regs` is the `kvm_valid_regs` mask (KVM_CAP_SYNC_REGS): the registers KVM copies into kvm_run at every
/// exit; the harness asks for KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS. Returns 0, or -1 with the error set.
int raw_vm_add_vcpu(struct raw_vm *vm, uint64_t entry_offset, uint64_t count, int port_io, uint64_t valid_regs);

/// raw_vm_copy_code, then raw_vm_add_vcpu.
int raw_vm_load(struct raw_vm *vm, const void *code, uint64_t code_size, uint64_t entry_offset, uint64_t count,
                int port_io, uint64_t valid_regs);

/// Runs the vCPU for `exits` exits, each of which must be a ucall exit of the VM's transport (checked by
/// exit_reason and mmio.phys_addr or io.port only: nothing else is decoded). Returns 0, or -1 with the error set.
int raw_vm_run_ucalls(struct raw_vm *vm, uint64_t exits);

/// Like raw_vm_run_ucalls, but decodes each ucall as the harness does, in plain C: takes CR3 (and RDI for port
/// I/O) from the registers KVM copied into kvm_run (the vCPU must have been loaded with KVM_SYNC_X86_REGS |
/// KVM_SYNC_X86_SREGS), walks the guest's page tables to the struct and reads its 64-byte header. The sum of the
/// args[0] goes to `checksum`. Returns 0, or -1 with the error set.
int raw_vm_run_ucalls_decoding(struct raw_vm *vm, uint64_t exits, uint64_t *checksum);

/// The ucall MMIO address of the VM.
uint64_t raw_vm_ucall_address(const struct raw_vm *vm);

/// How long the KVM_SET_USER_MEMORY_REGION of the guest RAM took when the VM was created, in nanoseconds.
uint64_t raw_vm_memslot_nanoseconds(const struct raw_vm *vm);

/// Closes the vCPU and the VM and unmaps their memory.
void raw_vm_destroy(struct raw_vm *vm);

#ifdef __cplusplus
}
#endif

#endif
