// CLinuxKVM: the kernel's KVM ABI, as <linux/kvm.h> defines it, for Swift.
//
// KVMHarness re-exports this module, so a test that writes `import KVMHarness` can name the structs its API takes
// and returns (`kvm_regs`, `kvm_sregs`, `kvm_cpuid_entry2`, ...) and the `KVM_*` constants, spelled as in the
// kernel's documentation (Documentation/virt/kvm/api.rst). It holds types and constants only: the ioctl wrappers
// are in CKVM, which stays internal to the library.
//
// The installed headers can be older than the running kernel (Debian 12 ships 6.1's; the machines this project runs
// on have 6.18 kernels). Each value below that a 6.1 header lacks is defined here only if the header did not define
// it, with the value from the newer kernel's header: the numbers are ABI and never change once released.
#ifndef CLINUXKVM_H
#define CLINUXKVM_H

#include <linux/kvm.h>

// MARK: - Exit reasons newer than Linux 6.1

#ifndef KVM_EXIT_LOONGARCH_IOCSR
#define KVM_EXIT_LOONGARCH_IOCSR 38 // Linux 6.7
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39 // Linux 6.8
#endif
#ifndef KVM_EXIT_TDX
#define KVM_EXIT_TDX 40 // Linux 6.16
#endif
#ifndef KVM_EXIT_ARM_SEA
#define KVM_EXIT_ARM_SEA 41 // Linux 6.18
#endif

// MARK: - Capability numbers every architecture's header should have

// Capability numbers are the same on every architecture, but <linux/kvm.h> defines some only where the
// architecture has the feature (__KVM_HAVE_XSAVE, ...): these keep the library's capability table one table.
#ifndef KVM_CAP_DEBUGREGS
#define KVM_CAP_DEBUGREGS 50
#endif
#ifndef KVM_CAP_XSAVE
#define KVM_CAP_XSAVE 55
#endif
#ifndef KVM_CAP_XCRS
#define KVM_CAP_XCRS 56
#endif

// MARK: - Capabilities newer than Linux 6.1

#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231 // Linux 6.8
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233 // Linux 6.8
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234 // Linux 6.8
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235 // Linux 6.8
#endif
#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237 // Linux 6.11
#endif
#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236 // Linux 6.10
#endif

// MARK: - Memslots newer than Linux 6.1 (KVM_SET_USER_MEMORY_REGION2, Linux 6.8)

#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2) // Linux 6.8
/// `struct kvm_userspace_memory_region2` (Linux 6.8): the v1 region, then a guest_memfd and its offset.
struct kvm_userspace_memory_region2 {
    __u32 slot;
    __u32 flags;
    __u64 guest_phys_addr;
    __u64 memory_size;
    __u64 userspace_addr;
    __u64 guest_memfd_offset;
    __u32 guest_memfd;
    __u32 pad1;
    __u64 pad2[14];
};
#endif
#ifndef KVM_SET_USER_MEMORY_REGION2
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2) // Linux 6.8
#endif
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS 244 // Linux 6.18: the GUEST_MEMFD_FLAG_* bits KVM_CREATE_GUEST_MEMFD accepts
#endif

// MARK: - guest_memfd and memory attributes (Linux 6.8; the mmap flags Linux 6.18)

#ifndef KVM_CREATE_GUEST_MEMFD
/// `struct kvm_create_guest_memfd` (Linux 6.8): the file's size, its `GUEST_MEMFD_FLAG_*` flags, reserved zeros.
struct kvm_create_guest_memfd {
    __u64 size;
    __u64 flags;
    __u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd) // Linux 6.8
#endif
#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP (1ULL << 0) // Linux 6.18: the file can be mmap()ed (MAP_SHARED)
#endif
#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ULL << 1) // Linux 6.18: its memory starts shared, so the host may touch it
#endif
#ifndef KVM_SET_MEMORY_ATTRIBUTES
/// `struct kvm_memory_attributes` (Linux 6.8): a guest-physical range and the `KVM_MEMORY_ATTRIBUTE_*` it gets.
struct kvm_memory_attributes {
    __u64 address;
    __u64 size;
    __u64 attributes;
    __u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes) // Linux 6.8
#endif
#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3) // Linux 6.8
#endif
#ifndef KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP
#define KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP 225 // Linux 6.4
#endif

/// `struct kvm_run`'s `memory_fault` member (Linux 6.8), which a 6.1 header lacks: it starts the exit union, at
/// offset 32, like every other exit's member.
struct clinuxkvm_memory_fault {
    __u64 flags;
    __u64 gpa;
    __u64 size;
};

#endif
