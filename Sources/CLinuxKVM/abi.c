// Checks, once, the layouts that the Swift library and the guest runtime rely on. A header that disagrees (another
// architecture, a changed ABI) stops the build here instead of misreading guest state at run time.
#include <stddef.h>

#include "CLinuxKVM.h"

#if defined(__x86_64__)
_Static_assert(sizeof(struct kvm_regs) == 144, "kvm_regs layout");
_Static_assert(sizeof(struct kvm_segment) == 24, "kvm_segment layout");
_Static_assert(sizeof(struct kvm_sregs) == 312, "kvm_sregs layout");
_Static_assert(sizeof(struct kvm_cpuid_entry2) == 40, "kvm_cpuid_entry2 layout");
_Static_assert(offsetof(struct kvm_run, s) == 304, "kvm_run.s (sync regs)");
#elif defined(__aarch64__)
// The core registers' KVM_GET/SET_ONE_REG ids are their offsets in struct kvm_regs divided by 4
// (ARM64/ARM64Registers.swift computes them from these offsets).
_Static_assert(offsetof(struct kvm_regs, regs.regs) == 0, "kvm_regs.regs.regs (x0..x30)");
_Static_assert(offsetof(struct kvm_regs, regs.sp) == 248, "kvm_regs.regs.sp");
_Static_assert(offsetof(struct kvm_regs, regs.pc) == 256, "kvm_regs.regs.pc");
_Static_assert(offsetof(struct kvm_regs, regs.pstate) == 264, "kvm_regs.regs.pstate");
_Static_assert(offsetof(struct kvm_regs, sp_el1) == 272, "kvm_regs.sp_el1");
_Static_assert(offsetof(struct kvm_regs, elr_el1) == 280, "kvm_regs.elr_el1");
_Static_assert(offsetof(struct kvm_regs, spsr) == 288, "kvm_regs.spsr");
_Static_assert(sizeof(struct kvm_vcpu_init) == 32, "kvm_vcpu_init layout");
#else
#error "KVMHarness supports x86-64 and arm64 hosts"
#endif
_Static_assert(sizeof(struct kvm_userspace_memory_region) == 32, "kvm_userspace_memory_region layout");
_Static_assert(offsetof(struct kvm_run, exit_reason) == 8, "kvm_run.exit_reason");
_Static_assert(offsetof(struct kvm_run, immediate_exit) == 1, "kvm_run.immediate_exit");
_Static_assert(offsetof(struct kvm_run, mmio) == 32, "kvm_run exit union starts at 32");
_Static_assert(sizeof(struct clinuxkvm_memory_fault) <= sizeof(((struct kvm_run *)0)->padding),
               "memory_fault fits the exit union");
_Static_assert(offsetof(struct kvm_run, kvm_valid_regs) == 288, "kvm_run.kvm_valid_regs");
_Static_assert(sizeof(struct kvm_stats_header) == 24, "kvm_stats_header layout");
_Static_assert(offsetof(struct kvm_stats_desc, name) == 16, "kvm_stats_desc: the name follows the fixed fields");
