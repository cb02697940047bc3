// Guest code for the arm64 tests (Tests/ARM64Tests), run at EL1 on an arm64 KVM host (scripts/arm64.sh). The
// functions exist on every architecture so that the test target type-checks everywhere; off arm64 they are empty.
#ifndef ARM64_TEST_GUESTS_H
#define ARM64_TEST_GUESTS_H

#include <stdint.h>

/// SYNC(1, 0x1111, 0x2222, ..., 0x6666), SYNC(2, x, x + 1), SYNC(3), DONE.
void a64_guest_sync_sequence(uint64_t x);
/// GUEST_ASSERT_EQ(value, 2): fails for any other value, at a line the test finds with a64_guest_assert_line().
void a64_guest_assert(uint64_t value);
/// The line of the assertion in a64_guest_assert.
int a64_guest_assert_line(void);
/// PRINTF("hello from arm64 EL%d, %s %x", ...), then DONE.
void a64_guest_printf(void);
/// Loads from `address`, which the harness has not mapped: a data abort the stubs report as UNHANDLED.
void a64_guest_unmapped_load(uint64_t address);
/// Builds a SYNC ucall (args 0x5742, 0xa, 0xb) at `address` (which straddles two pages) and sends it; then DONE.
void a64_guest_ucall_at(uint64_t address);
/// Sends a SYNC ucall with a store pair, which KVM cannot decode.
void a64_guest_store_pair(void);
/// GUEST_CALL_HOST(0x100, 21) and GUEST_CALL_HOST_BUFFER(0x101, "abc", 4): SYNC(8, answer, buffer bytes), then DONE.
void a64_guest_host_calls(void);
/// Points VBAR_EL1 at `vectors` (unmapped), then faults: every exception now faults again, with no exit.
void a64_guest_break_vectors(uint64_t vectors);
/// Reports the exception level and SCTLR_EL1.M (SYNC(7, CurrentEL >> 2, M)), then DONE.
void a64_guest_el_and_mmu(void);

#endif
