// CKVM: the C shim between Swift and <linux/kvm.h>, internal to the library (the ABI's types and constants are in
// CLinuxKVM, which the library re-exports).
//
// Swift cannot call the variadic ioctl(2), and it cannot import the _IO/_IOR/_IOW/_IOWR request macros (they expand
// to expressions, not literals). This header gives both a fixed shape: prefixed `static const` request numbers and
// fixed-signature `static inline` wrappers. It also has accessors for the handful of `struct kvm_run` fields that the
// ucall hot path reads, so that they compile to single loads in debug builds too, and `_Static_assert`s on every
// layout that the Swift side relies on. There is no logic here: decisions belong to the Swift library.
#ifndef CKVM_H
#define CKVM_H

#include <errno.h>
#include <CLinuxKVM.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include <linux/falloc.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

// MARK: - ioctl request numbers (the importer cannot evaluate _IO* macros)

// System ioctls (on the /dev/kvm file descriptor).
static const unsigned long CKVM_GET_API_VERSION = KVM_GET_API_VERSION;
static const unsigned long CKVM_CREATE_VM = KVM_CREATE_VM;
static const unsigned long CKVM_CHECK_EXTENSION = KVM_CHECK_EXTENSION;
static const unsigned long CKVM_GET_VCPU_MMAP_SIZE = KVM_GET_VCPU_MMAP_SIZE;
#if defined(__x86_64__)
static const unsigned long CKVM_GET_SUPPORTED_CPUID = KVM_GET_SUPPORTED_CPUID;
static const unsigned long CKVM_GET_MSR_INDEX_LIST = KVM_GET_MSR_INDEX_LIST;
static const unsigned long CKVM_GET_MSR_FEATURE_INDEX_LIST = KVM_GET_MSR_FEATURE_INDEX_LIST;
#endif

// VM ioctls.
static const unsigned long CKVM_CREATE_VCPU = KVM_CREATE_VCPU;
static const unsigned long CKVM_SET_USER_MEMORY_REGION = KVM_SET_USER_MEMORY_REGION;
static const unsigned long CKVM_GET_STATS_FD = KVM_GET_STATS_FD;
static const unsigned long CKVM_CREATE_IRQCHIP = KVM_CREATE_IRQCHIP;
// VM ioctls for memory: memslots, dirty logging, coalesced MMIO.
static const unsigned long CKVM_SET_USER_MEMORY_REGION2 = KVM_SET_USER_MEMORY_REGION2;
static const unsigned long CKVM_GET_DIRTY_LOG = KVM_GET_DIRTY_LOG;
static const unsigned long CKVM_CREATE_GUEST_MEMFD = KVM_CREATE_GUEST_MEMFD;
static const unsigned long CKVM_SET_MEMORY_ATTRIBUTES = KVM_SET_MEMORY_ATTRIBUTES;
static const unsigned long CKVM_CLEAR_DIRTY_LOG = KVM_CLEAR_DIRTY_LOG;
static const unsigned long CKVM_RESET_DIRTY_RINGS = KVM_RESET_DIRTY_RINGS;
static const unsigned long CKVM_REGISTER_COALESCED_MMIO = KVM_REGISTER_COALESCED_MMIO;
static const unsigned long CKVM_UNREGISTER_COALESCED_MMIO = KVM_UNREGISTER_COALESCED_MMIO;
// VM ioctls for interrupts.
static const unsigned long CKVM_IRQ_LINE_STATUS = KVM_IRQ_LINE_STATUS;
static const unsigned long CKVM_SIGNAL_MSI = KVM_SIGNAL_MSI;
static const unsigned long CKVM_SET_GSI_ROUTING = KVM_SET_GSI_ROUTING;

// System, VM and vCPU ioctls (the same request on each file descriptor).
static const unsigned long CKVM_ENABLE_CAP = KVM_ENABLE_CAP;

// vCPU ioctls.
static const unsigned long CKVM_RUN = KVM_RUN;
static const unsigned long CKVM_GET_REGS = KVM_GET_REGS;
static const unsigned long CKVM_SET_REGS = KVM_SET_REGS;
static const unsigned long CKVM_GET_MP_STATE = KVM_GET_MP_STATE;
static const unsigned long CKVM_SET_MP_STATE = KVM_SET_MP_STATE;
static const unsigned long CKVM_SET_GUEST_DEBUG = KVM_SET_GUEST_DEBUG;

// x86-64 only: requests whose structs only the x86 <asm/kvm.h> defines, or that only x86 KVM implements.
#if defined(__x86_64__)
static const unsigned long CKVM_X86_SET_MSR_FILTER = KVM_X86_SET_MSR_FILTER;
static const unsigned long CKVM_GET_CLOCK = KVM_GET_CLOCK;
static const unsigned long CKVM_SET_CLOCK = KVM_SET_CLOCK;
static const unsigned long CKVM_SET_BOOT_CPU_ID = KVM_SET_BOOT_CPU_ID;
static const unsigned long CKVM_SET_NR_MMU_PAGES = KVM_SET_NR_MMU_PAGES;
static const unsigned long CKVM_GET_MSRS = KVM_GET_MSRS;
static const unsigned long CKVM_GET_SREGS = KVM_GET_SREGS;
static const unsigned long CKVM_SET_SREGS = KVM_SET_SREGS;
static const unsigned long CKVM_SET_CPUID2 = KVM_SET_CPUID2;
static const unsigned long CKVM_GET_XCRS = KVM_GET_XCRS;
static const unsigned long CKVM_SET_XCRS = KVM_SET_XCRS;
static const unsigned long CKVM_GET_VCPU_EVENTS = KVM_GET_VCPU_EVENTS;
static const unsigned long CKVM_TRANSLATE = KVM_TRANSLATE;
static const unsigned long CKVM_SET_MSRS = KVM_SET_MSRS;
static const unsigned long CKVM_GET_CPUID2 = KVM_GET_CPUID2;
static const unsigned long CKVM_SET_VCPU_EVENTS = KVM_SET_VCPU_EVENTS;
static const unsigned long CKVM_GET_FPU = KVM_GET_FPU;
static const unsigned long CKVM_SET_FPU = KVM_SET_FPU;
static const unsigned long CKVM_GET_XSAVE = KVM_GET_XSAVE;
static const unsigned long CKVM_GET_XSAVE2 = KVM_GET_XSAVE2;
static const unsigned long CKVM_SET_XSAVE = KVM_SET_XSAVE;
static const unsigned long CKVM_GET_DEBUGREGS = KVM_GET_DEBUGREGS;
static const unsigned long CKVM_SET_DEBUGREGS = KVM_SET_DEBUGREGS;
static const unsigned long CKVM_GET_TSC_KHZ = KVM_GET_TSC_KHZ;
static const unsigned long CKVM_SET_TSC_KHZ = KVM_SET_TSC_KHZ;
static const unsigned long CKVM_GET_NESTED_STATE = KVM_GET_NESTED_STATE;
static const unsigned long CKVM_SET_NESTED_STATE = KVM_SET_NESTED_STATE;
static const unsigned long CKVM_GET_LAPIC = KVM_GET_LAPIC;
static const unsigned long CKVM_SET_LAPIC = KVM_SET_LAPIC;
static const unsigned long CKVM_INTERRUPT = KVM_INTERRUPT;
static const unsigned long CKVM_NMI = KVM_NMI;
#endif

// arm64 only: vCPU initialisation (the vCPU's registers go through KVM_GET/SET_ONE_REG, which every architecture
// has).
#if defined(__aarch64__)
static const unsigned long CKVM_ARM_PREFERRED_TARGET = KVM_ARM_PREFERRED_TARGET;
static const unsigned long CKVM_ARM_VCPU_INIT = KVM_ARM_VCPU_INIT;
#endif
static const unsigned long CKVM_GET_ONE_REG = KVM_GET_ONE_REG;
static const unsigned long CKVM_SET_ONE_REG = KVM_SET_ONE_REG;

// MARK: - Fixed-signature ioctl wrappers (ioctl(2) is variadic, which Swift cannot call)

/// An acquire load of a u32 that KVM writes concurrently (a dirty ring entry's flags).
static inline uint32_t ckvm_load_acquire_u32(const uint32_t *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}

/// A release store of a u32 that KVM reads concurrently (a dirty ring entry's flags).
static inline void ckvm_store_release_u32(uint32_t *address, uint32_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

// userfaultfd ioctls, for tests that back a memslot with memory they page in on demand (demand_paging_test).
static const unsigned long CKVM_UFFDIO_API = UFFDIO_API;
static const unsigned long CKVM_UFFDIO_REGISTER = UFFDIO_REGISTER;
static const unsigned long CKVM_UFFDIO_COPY = UFFDIO_COPY;
static const unsigned long long CKVM_UFFD_API = UFFD_API;

/// userfaultfd(2), by system call number (the C library has no wrapper).
static inline int ckvm_userfaultfd(int flags) {
    return (int)syscall(SYS_userfaultfd, flags);
}

/// memfd_create(2), by system call number (older C libraries lack the wrapper; syscall(2) is variadic).
static inline int ckvm_memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(SYS_memfd_create, name, flags);
}

/// fallocate(2), by system call number (the C library declares it only with _GNU_SOURCE; syscall(2) is variadic).
static inline int ckvm_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return (int)syscall(SYS_fallocate, fd, mode, offset, length);
}

/// ioctl(2) with an integer argument (or none: pass 0).
static inline int ckvm_ioctl_int(int fd, unsigned long request, unsigned long arg) {
    return ioctl(fd, request, arg);
}

/// ioctl(2) with a pointer argument.
static inline int ckvm_ioctl_ptr(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

// MARK: - struct kvm_run accessors used on every exit

static inline uint32_t ckvm_run_exit_reason(const struct kvm_run *run) { return run->exit_reason; }

static inline uint64_t ckvm_run_mmio_phys_addr(const struct kvm_run *run) { return run->mmio.phys_addr; }
static inline uint32_t ckvm_run_mmio_len(const struct kvm_run *run) { return run->mmio.len; }
static inline uint8_t ckvm_run_mmio_is_write(const struct kvm_run *run) { return run->mmio.is_write; }
static inline uint64_t ckvm_run_mmio_data_u64(const struct kvm_run *run) {
    uint64_t value;
    __builtin_memcpy(&value, run->mmio.data, sizeof(value));
    return value;
}

/// KVM_EXIT_ARM_NISV's fields (arm64; the struct is in every architecture's <linux/kvm.h>).
static inline uint64_t ckvm_run_arm_nisv_esr_iss(const struct kvm_run *run) { return run->arm_nisv.esr_iss; }
static inline uint64_t ckvm_run_arm_nisv_fault_ipa(const struct kvm_run *run) { return run->arm_nisv.fault_ipa; }

static inline uint16_t ckvm_run_io_port(const struct kvm_run *run) { return run->io.port; }
static inline uint8_t ckvm_run_io_direction(const struct kvm_run *run) { return run->io.direction; }
static inline uint8_t ckvm_run_io_size(const struct kvm_run *run) { return run->io.size; }
static inline uint32_t ckvm_run_io_count(const struct kvm_run *run) { return run->io.count; }
static inline uint64_t ckvm_run_io_data_offset(const struct kvm_run *run) { return run->io.data_offset; }

#if defined(__x86_64__)
/// The registers KVM copied into `kvm_run` at the last exit (valid when `kvm_valid_regs` asked for them).
static inline const struct kvm_regs *ckvm_run_sync_regs(const struct kvm_run *run) { return &run->s.regs.regs; }
/// The special registers KVM copied into `kvm_run` at the last exit (valid when `kvm_valid_regs` asked for them).
static inline const struct kvm_sregs *ckvm_run_sync_sregs(const struct kvm_run *run) { return &run->s.regs.sregs; }
#endif

/// Asks KVM to exit with KVM_EXIT_IRQ_WINDOW_OPEN as soon as the guest can take an interrupt (user-space
/// interrupt controller only), and reads whether it can now.
static inline void ckvm_run_set_request_interrupt_window(struct kvm_run *run, uint8_t value) {
    run->request_interrupt_window = value;
}
static inline uint8_t ckvm_run_ready_for_interrupt_injection(const struct kvm_run *run) {
    return run->ready_for_interrupt_injection;
}
static inline uint8_t ckvm_run_if_flag(const struct kvm_run *run) { return run->if_flag; }

static inline void ckvm_run_set_valid_regs(struct kvm_run *run, uint64_t mask) { run->kvm_valid_regs = mask; }

/// Sets `immediate_exit` with a store another thread's KVM_RUN is sure to see: the kick that stops a vCPU sets it
/// before signalling, so a vCPU thread that is between its last check and the ioctl still leaves at once.
static inline void ckvm_run_set_immediate_exit(struct kvm_run *run, uint8_t value) {
    __atomic_store_n(&run->immediate_exit, value, __ATOMIC_SEQ_CST);
}

// MARK: - The host CPU

#if defined(__x86_64__)
/// Runs CPUID on the host (Swift has no inline assembly). Returns 0 if the leaf is above the host's maximum.
static inline int ckvm_host_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
    return __get_cpuid_count(leaf, subleaf, &out[0], &out[1], &out[2], &out[3]);
}
#endif

// MARK: - Kicking a vCPU thread out of KVM_RUN

/// The signal used to kick vCPU threads out of KVM_RUN (a real-time signal, so it does not collide with SIGUSR1/2).
static inline int ckvm_kick_signal(void) { return SIGRTMIN + 5; }

static void ckvm_kick_handler(int signo) { (void)signo; }

/// Installs a do-nothing handler for the kick signal, without SA_RESTART so that KVM_RUN returns EINTR.
static inline int ckvm_install_kick_handler(void) {
    struct sigaction action = { 0 };
    action.sa_handler = ckvm_kick_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    return sigaction(ckvm_kick_signal(), &action, NULL);
}

// MARK: - Finding loaded code

/// One PT_LOAD segment of a loaded object, at its run-time address.
struct ckvm_loaded_segment {
    uint64_t address;
    uint64_t size;
    uint32_t flags; // PF_R, PF_W, PF_X
};

/// Finds the loaded object (executable or shared library) whose PT_LOAD segments contain `address`, and copies up
/// to `capacity` of its PT_LOAD segments into `segments`. Returns how many it has (0 if no object contains the
/// address). dl_iterate_phdr is only declared with _GNU_SOURCE, which Swift's Glibc module is not built with, so
/// the call lives in ckvm.c.
int ckvm_find_loaded_object(uint64_t address, struct ckvm_loaded_segment *segments, int capacity);

/// Unblocks the kick signal in the calling thread. Threads inherit their creator's mask, and libdispatch's worker
/// threads block every signal, so a vCPU thread started from Swift concurrency would never see a kick.
static inline int ckvm_unblock_kick_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, ckvm_kick_signal());
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/// pthread_setname_np(3) for the calling thread (at most 15 characters). Defined in ckvm.c (_GNU_SOURCE).
void ckvm_name_this_thread(const char *name);

/// pthread_tryjoin_np(3): joins `thread` if it has finished, else returns EBUSY at once. Defined in ckvm.c.
int ckvm_pthread_tryjoin(pthread_t thread);

/// Unblocks the kick signal in the calling thread the first time the thread calls it (a thread-local flag makes
/// later calls free). vCPU threads call it before each KVM_RUN. Defined in ckvm.c.
void ckvm_unblock_kick_signal_once(void);

/// A memory-fault exit's fields (see CLinuxKVM.h).
static inline struct clinuxkvm_memory_fault ckvm_run_memory_fault(const struct kvm_run *run) {
    struct clinuxkvm_memory_fault fault;
    __builtin_memcpy(&fault, &run->padding, sizeof(fault));
    return fault;
}

#endif
