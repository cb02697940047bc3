// Guest code for the KVM tests: C functions that run inside VMs, linked into the test binary.
#ifndef TEST_GUESTS_H
#define TEST_GUESTS_H

#include <stdint.h>

#include "KVMHarnessGuest.h"
#include "InterruptGuests.h"
#include "HostCallGuests.h"

/// SYNC(1, 0x11, 0x12), SYNC(2, 0x21, 0x22, 0x23), SYNC(3, a, b, a + b), DONE.
void guest_sync_stages(uint64_t a, uint64_t b);
/// Copies and zeroes a 1 KiB struct (compiler-generated memcpy/memset), then reports checksums.
void guest_struct_copy(void);
/// Builds a ucall whose struct straddles a page boundary, at `gva` (the host maps the two pages apart).
void guest_straddling_ucall(uint64_t gva);
/// Writes 4 bytes to the ucall MMIO address.
void guest_ucall_wrong_size(void);
/// Reads the ucall MMIO address.
void guest_ucall_read(void);
/// Makes a ucall whose struct pointer is not mapped.
void guest_ucall_unmapped(uint64_t gva);
/// Counts up a global from its initial value and reports it.
void guest_counter(void);
/// The global `guest_counter` starts from.
extern uint64_t guest_counter_value GUEST_GLOBAL;
/// Returns from the entry function without GUEST_DONE().
void guest_returns(void);
/// SYNC(vcpu id) then DONE, for multi-vCPU tests.
void guest_per_vcpu(uint64_t id);
/// Sends SYNC(1) over the port-I/O transport, then DONE over MMIO.
void guest_pio_sync(void);
/// DONE, and DONE again each time the vCPU is run after it: one VM serves any number of runs.
void guest_done_forever(void);



/// Every GUEST_ASSERT* form, all holding, then DONE.
void guest_asserts_pass(void);
/// GUEST_ASSERT_EQ(counted(x + 1), 43) with x = 41: fails at guest_assert_eq_line.
void guest_assert_eq_fails(void);
/// The line of the failing GUEST_ASSERT_EQ in asserts.c.
extern const uint64_t guest_assert_eq_line;
/// How often the guest's copy of `counted` ran (call on the host: always 0 there; the guest's copy is private).
uint64_t guest_assert_evaluations(void);
/// SYNC(1), PRINTF, SYNC(2), PRINTF, DONE.
void guest_printf_between_syncs(void);
/// GUEST_PRINTF of a 1,200-character string.
void guest_long_printf(void);
/// GUEST_FAIL with a message.
void guest_fail(void);
/// Executes UD2 at guest_ud2_address().
void guest_undefined_opcode(void);
/// The address of the UD2 instruction.
uint64_t guest_ud2_address(void);
/// A #GP handler that records the vector and error code and resumes after the faulting load.
void guest_gp_handler(struct ex_regs *regs);
/// Loads from a non-canonical address, expecting guest_gp_handler to resume it; SYNC(1, vector, error, count).
void guest_expect_gp(void);
/// Reads an unmapped address.
void guest_page_fault(void);
/// SYNC(1), then spins forever.
void guest_spin(void);
/// The address of guest_spin's loop: a PAUSE, then a JMP back to it.
uint64_t guest_spin_loop_address(void);

/// Writes to its own code.
void guest_write_own_code(void);
/// Loads CR3 with an address outside guest memory.
void guest_load_garbage_cr3(void);
/// Writes a __thread variable.
void guest_thread_local(void);
/// Makes a ucall with a pointer that is only valid in the host.
void guest_ucall_points_at_host(uint64_t host_address);
/// SYNC(1), then HLT with interrupts off.
void guest_halts(void);
/// Writes a ucall pointer to the MMIO address with a `size`-byte store (1, 2 or 4).
void guest_ucall_narrow_write(uint64_t size);
/// OUT to the ucall port (a ucall is an IN).
void guest_ucall_port_out(void);
/// A ucall with command `command` and arguments 1, 2, 3, then DONE.
void guest_unknown_command(uint64_t command);
/// Hands the host the struct the test prepared at guest-virtual `address`, then DONE.
void guest_send_struct(uint64_t address);
/// ABORT with these expression and file pointers, line 42, an empty message.
void guest_abort_strings(uint64_t expression, uint64_t file);
/// PRINTF with a buffer of 1024 letters and no NUL.
void guest_printf_unterminated(void);
/// Clears CR0.PG in 64-bit mode.
void guest_paging_off(void);
/// Calls the ucall MMIO address as code.
void guest_execute_ucall_address(void);
/// Loads an empty IDT and executes UD2.
void guest_triple_fault(void);
/// SYNC(0) to SYNC(count - 1), then DONE.
void guest_ucall_flood(uint64_t count);
/// SYNC(value), then DONE: the normal VM each hostile case runs afterwards.
void guest_sync_done(uint64_t value);
/// processor.h: SYNC(1, rdmsr_safe vector, value, wrmsr_safe vector) for a made-up MSR, SYNC(2, vector, read) for
/// the TSC MSR, SYNC(3, vector, CR4 unchanged) for a reserved CR4 bit, SYNC(4, LM, NX, PAE), DONE.
void guest_safe_forms(void);

// MARK: - Ports of the kernel's x86 selftests (Tests/TestGuests/selftests/)

/// sync_regs_test: `in` from the ucall port with a NONE ucall in RDI, then RBX += 1, forever.
void guest_sync_regs_loop(void);
/// userspace_io_test: string INs from port 0x80 (counts 2, 3, 8192), then checks the 8 KiB of host data.
void guest_userspace_io(void);
/// cpuid_test: SYNC(1), CPUID for each (leaf, subleaf) pair of `leaves` into `out` (EAX, EBX, ECX, EDX each),
/// SYNC(2), asserts the largest KVM leaf is 0x40000001, DONE.
void guest_cpuid_readback(uint64_t leaves, uint64_t count, uint64_t out);
/// userspace_msr_exit_test: RDMSR/WRMSR of XSS, FLUSH_CMD and a made-up MSR under a denying filter.
void guest_user_msr_filter_allow(void);
/// userspace_msr_exit_test: MSRs trapped by a default-deny filter, SYNC(0), the same untrapped.
void guest_user_msr_filter_deny(void);
/// userspace_msr_exit_test: FS_BASE trapped, SYNC(0), then GS_BASE trapped.
void guest_user_msr_permission_bitmap(void);
/// state_test: SYNC(1); with `use_xsave`, enables every XSAVE component and touches each; SYNC(2); DONE.
void guest_state(uint64_t use_xsave);
/// SYNC(1, XCR0 as XGETBV reads it), DONE.
void guest_xgetbv_probe(void);
/// debug_regs: a pending self-IPI, then INT3, a NOP, a store, a single-stepped STI..CLI run, MOV from DR0; DONE.
void guest_debug_regs(void);
/// debug_regs: where guest_debug_regs's labels are: 0 INT3, 1 NOP, 2 after the store, 3 STI, 4 MOV from DR0,
/// 5 the store.
uint64_t guest_debug_label(uint64_t which);
/// debug_regs: the address of the word the data breakpoint watches.
uint64_t guest_debug_value_address(void);
/// userspace_msr_exit_test: steps over the test RDMSR/WRMSR that fault, counting them.
void guest_user_msr_gp_handler(struct ex_regs *regs);


// MARK: - More ports of the kernel's x86 selftests: MSRs, hypercalls, clocks, vCPU limits

// MSR numbers as the kernel's msr-index.h and kvm_para.h spell them (an identical redefinition is harmless).
#define MSR_IA32_TSC 0x00000010
#define MSR_IA32_TSC_ADJUST 0x0000003b
#define MSR_PLATFORM_INFO 0x000000ce
#define MSR_IA32_MISC_ENABLE 0x000001a0
#define MSR_K7_HWCR 0xc0010015
#define MSR_KVM_WALL_CLOCK 0x00000011
#define MSR_KVM_SYSTEM_TIME 0x00000012
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_ASYNC_PF_EN 0x4b564d02
#define MSR_KVM_STEAL_TIME 0x4b564d03
#define MSR_KVM_PV_EOI_EN 0x4b564d04
#define MSR_KVM_POLL_CONTROL 0x4b564d05
#define MSR_KVM_ASYNC_PF_INT 0x4b564d06
#define MSR_KVM_ASYNC_PF_ACK 0x4b564d07

/// Exception vectors that the `_safe` instructions return.
#define UD_VECTOR 6
#define GP_VECTOR 13

/// platform_info_test: the maximum non-turbo ratio field of MSR_PLATFORM_INFO, bits 15:8.
#define PLATFORM_INFO_MAX_TURBO_RATIO 0xff00
/// SYNC(1), RDMSR(MSR_PLATFORM_INFO) must show PLATFORM_INFO_MAX_TURBO_RATIO; SYNC(0), the same RDMSR must raise
/// #GP; DONE. The host enables KVM_CAP_MSR_PLATFORM_INFO with each SYNC's stage.
void guest_platform_info(void);

/// exit_on_emulation_failure_test: FLDS from `address` (an MMIO page), which KVM cannot emulate, then DONE.
void guest_flds_from_mmio(uint64_t address);

/// tsc_msrs_test: values are compared after rounding to the nearest TSC_UNITY.
#define TSC_UNITY (1ULL << 30)
#define TSC_ROUND(x) (((x) + TSC_UNITY / 2) & -TSC_UNITY)
/// What the host adds to the TSC in stage 3, and the guest's step between its writes.
#define TSC_HOST_ADJUST (64ULL << 30)
#define TSC_GUEST_STEP (4ULL << 30)
/// SYNC(stage, TSC, TSC_ADJUST), rounded, as the vCPU starts (1), after writing the TSC (2) and TSC_ADJUST (3),
/// again after the host's TSC write (4), after writing TSC_ADJUST (5) and the TSC (6); DONE.
void guest_tsc_msrs(void);

/// kvm_clock_test: KVM's per-vCPU time information (struct pvclock_vcpu_time_info in the kernel's pvclock-abi.h).
struct pvclock_vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
};
_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "the pvclock ABI's size");
/// The enable bit of MSR_KVM_SYSTEM_TIME_NEW.
#define KVM_MSR_ENABLED 1
/// How many clock settings the host tries, one per SYNC.
#define KVM_CLOCK_TEST_CASES 4
/// Points MSR_KVM_SYSTEM_TIME_NEW at `pvti_gpa` (mapped at `pvti_gva`), then for each test case i sends
/// SYNC(i, kvmclock now); DONE.
void guest_kvm_clock(uint64_t pvti_gpa, uint64_t pvti_gva);

/// kvm_pv_test: the ucall commands that name the MSR or hypercall about to be tried.
#define UCALL_PV_MSR 0xdeadbeef
#define UCALL_PV_HYPERCALL 0xdeadc0de
/// KVM hypercall numbers and their "not available" result (the kernel's kvm_para.h).
#define KVM_ENOSYS 1000
#define KVM_HC_KICK_CPU 5
#define KVM_HC_SEND_IPI 10
#define KVM_HC_SCHED_YIELD 11
/// For each KVM paravirtual MSR: UCALL_PV_MSR(msr), RDMSR and WRMSR must raise #GP. For KICK_CPU, SEND_IPI and
/// SCHED_YIELD: UCALL_PV_HYPERCALL(nr), the hypercall must return -KVM_ENOSYS. Then DONE.
void guest_kvm_pv(void);

/// fix_hypercall_test: VMCALL and VMMCALL are 3 bytes each.
#define HYPERCALL_INSN_SIZE 3
/// What guest_fix_hypercall_ud_handler makes a faulting hypercall return, negated (EFAULT).
#define GUEST_EFAULT 14
/// Writes the other vendor's hypercall and a RET at `stub_gva`, calls it (KVM_HC_SCHED_YIELD), and asserts that KVM
/// patched and ran it (`quirk_disabled` 0) or that it raised #UD and was left alone; DONE.
void guest_fix_hypercall(uint64_t stub_gva, uint64_t quirk_disabled);
/// The #UD handler: the hypercall returns -GUEST_EFAULT, and the guest resumes after it.
void guest_fix_hypercall_ud_handler(struct ex_regs *regs);

/// monitor_mwait_test: the bits of a test case.
#define MWAIT_QUIRK_DISABLED 0x1
#define MISC_ENABLES_QUIRK_DISABLED 0x2
#define MWAIT_DISABLED 0x4
/// Bit 18 of MSR_IA32_MISC_ENABLE: MONITOR/MWAIT enabled.
#define MSR_IA32_MISC_ENABLE_MWAIT (1ULL << 18)
/// For each of six test cases: SYNC(testcase), then MONITOR and MWAIT must raise #UD or complete as the test case
/// says; DONE.
void guest_monitor_mwait(void);

/// Host-departure probe: SYNC(1, the result of hypercall 0, which KVM does not know), DONE.
void guest_hypercall_probe(void);

// MARK: - Memory: memslots, dirty logging (Tests/TestGuests/selftests/memslots.c, dirty_log.c)

/// The second argument of every SYNC guest_ucall_in_slot sends.
#define MEMSLOT_RACE_MAGIC 0x5107
/// Builds `count` SYNC(i, MEMSLOT_RACE_MAGIC) ucalls in a struct at `gva` (in a slot the host moves and deletes
/// meanwhile) and sends each; then DONE.
void guest_ucall_in_slot(uint64_t gva, uint64_t count);
/// set_memory_region_test: what the host answers a read of the region while it is in no slot.
#define SET_MEMORY_REGION_MMIO_VALUE 0xbeefull
/// set_memory_region_test: SYNC(0), then spins on the word at `gva` through two moves of its slot (SYNC(0) after each
/// change it sees), asserting what each reads; DONE.
void guest_move_region(uint64_t gva);
/// set_memory_region_test: SYNC(0), then spins on the word at `gva` while its slot is deleted, added, deleted; DONE.
void guest_delete_region(uint64_t gva);

/// dirty_log_test: pages written between two SYNCs.
#define DIRTY_LOG_PAGES_PER_LOOP 1024
/// dirty_log_test: the iteration number the guest writes; the host writes the guest's copy at this address.
uint64_t *dirty_log_iteration_address(void);
/// dirty_log_test: writes dirty_log_iteration into the first word of each of the `pages` pages at `gva`, then
/// forever into DIRTY_LOG_PAGES_PER_LOOP random ones (xorshift64 from `seed`) followed by SYNC(1).
void guest_dirty_log(uint64_t gva, uint64_t pages, uint64_t seed);

/// coalesced_io_test: forever: ring_size - 1 writes alternating 8-byte MMIO to `mmio` (value mmio + i) and 4-byte
/// OUT to `port` (value port + i), then one MMIO write; the same ending in an OUT; SYNC(0); one MMIO write and one
/// OUT of value + ring_size - 1.
void guest_coalesced_io(uint64_t mmio, uint64_t ring_size, uint64_t port);

/// memslot_modification_stress_test (the kernel's memstress guest): forever writes the pass number into each of
/// the `pages` pages at `gva`, then SYNC(pass).
void guest_memstress(uint64_t gva, uint64_t pages);

// MARK: - guest_memfd (Tests/TestGuests/selftests/guest_memfd.c)

/// guest_memfd_test: the guest writes GUEST_MEMFD_GUEST_TAG | i into the first word of page `i` of a guest_memfd slot.
#define GUEST_MEMFD_GUEST_TAG 0x6d656d6600000000ull
/// guest_memfd_test: the host writes GUEST_MEMFD_HOST_TAG | i over it, where it can map the guest_memfd.
#define GUEST_MEMFD_HOST_TAG 0x686f737400000000ull
/// guest_memfd_test: writes GUEST_MEMFD_GUEST_TAG | i into the first word of each of the `pages` pages at `gva`;
/// SYNC(1); asserts each now reads GUEST_MEMFD_HOST_TAG | i if `host_writes`, else its own value; DONE.
void guest_guest_memfd(uint64_t gva, uint64_t pages, uint64_t host_writes);

// MARK: - Page tables and large guests (Tests/TestGuests/selftests/page_tables.c)

/// kvm_page_table_test: the stages the host writes into the guest's stage word.
#define PAGE_TABLE_STAGE_START 0
#define PAGE_TABLE_STAGE_CREATE 1
#define PAGE_TABLE_STAGE_UPDATE 2
#define PAGE_TABLE_STAGE_ADJUST 3
/// kvm_page_table_test: what the guest writes into the first word of a page.
#define PAGE_TABLE_MAGIC 0x0123456789abcdefull
/// kvm_page_table_test: what the host shares with the guest (the C test's `test_args`), in guest memory.
struct page_table_control {
    uint64_t stage;      ///< the stage to run next; the host writes it while the vCPUs are stopped
    uint64_t gva;        ///< the region
    uint64_t size;       ///< its size in bytes
    uint64_t large_page; ///< the page size of its backing: 4 KiB, or 2 MiB for huge pages
};
/// kvm_page_table_test: forever reads the stage from the control struct at `control_gva` and touches the region
/// as that stage says (CREATE: the first word of each large page, written if `writes`, else read; UPDATE: writes
/// that word and reads each 4 KiB page of the large page's second half; ADJUST: reads every 4 KiB page), then
/// SYNC(stage).
void guest_page_table(uint64_t control_gva, uint64_t writes);
/// max_guest_memory_test: forever writes each address in [start, end), every `stride` bytes, into itself (the
/// range is identity mapped), then SYNC(start).
void guest_max_memory(uint64_t start, uint64_t end, uint64_t stride);

// MARK: - memslot_perf_test (Tests/TestGuests/selftests/memslot_perf.c)

/// The handshake between the host and a memslot_perf guest, at the start of the first test slot (both sides use
/// atomics on it).
struct memslot_perf_sync {
    uint64_t start;     ///< set by the host: the guest may begin
    uint64_t exit;      ///< set by the host: the guest stops at its next check and sends DONE
    uint64_t sync;      ///< set by the host, cleared by the guest when it reaches a handshake point
    uint64_t move_area; ///< the guest-virtual address the move guest writes
};
#define MEMSLOT_PERF_VALUE_1 0x1122334455667788ull
#define MEMSLOT_PERF_VALUE_2 0x99AABBCCDDEEFF00ull
/// Bytes the move guest writes, half of them in the slot the host moves in the active case.
#define MEMSLOT_PERF_MOVE_SIZE 196608ull // 3 * 64 KiB
/// Host: stores `value` with release order.
void memslot_perf_set(uint64_t *flag, uint64_t value);
/// Host: requests a handshake and spins until the guest takes it; false after `timeout_ns`.
_Bool memslot_perf_host_sync(struct memslot_perf_sync *sync, uint64_t timeout_ns);
/// memslot_perf_test guests: SYNC(0), wait for `start`, then loop until `exit`, then DONE. The move guest writes
/// each page of [move_area, +MEMSLOT_PERF_MOVE_SIZE) with no handshake; map writes VALUE_1 into each page of the
/// first half of [area, +size), handshakes, VALUE_2 into the second half, handshakes; unmap does the same with one
/// page per half; rw writes VALUE_1 into each page, handshakes, asserts VALUE_2 at each page's middle and zeroes
/// it, handshakes.
void guest_memslot_perf_move(uint64_t sync_gva);
void guest_memslot_perf_map(uint64_t sync_gva, uint64_t area, uint64_t size);
void guest_memslot_perf_unmap(uint64_t sync_gva, uint64_t area, uint64_t size);
void guest_memslot_perf_rw(uint64_t sync_gva, uint64_t area, uint64_t size);

#endif
