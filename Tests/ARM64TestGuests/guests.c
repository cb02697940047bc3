// The arm64 tests' guest code (see ARM64TestGuests.h). Built for every architecture; the bodies are arm64 only.
#include "ARM64TestGuests.h"

#include <KVMHarnessGuest.h>

GUEST_CODE_BEGIN

#if defined(__aarch64__)

void a64_guest_sync_sequence(uint64_t x) {
    GUEST_SYNC_ARGS(1, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666);
    GUEST_SYNC_ARGS(2, x, x + 1);
    GUEST_SYNC(3);
    GUEST_DONE();
}

static const int assert_line = __LINE__ + 3;
int a64_guest_assert_line(void) { return assert_line; }
void a64_guest_assert(uint64_t value) {
    GUEST_ASSERT_EQ(value, 2);
    GUEST_DONE();
}

void a64_guest_printf(void) {
    uint64_t el;
    __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
    GUEST_PRINTF("hello from arm64 EL%d, %s %x", (int)(el >> 2), "value", 0xc0ffee);
    GUEST_DONE();
}

void a64_guest_unmapped_load(uint64_t address) {
    uint64_t value = *(volatile uint64_t *)(uintptr_t)address;
    GUEST_SYNC_ARGS(99, value); // not reached
}

void a64_guest_ucall_at(uint64_t address) {
    struct ucall *uc = (struct ucall *)(uintptr_t)address;
    ucall7_fill(uc, UCALL_SYNC, 0x5742, 0xa, 0xb, 0, 0, 0, 0);
    ucall_send(uc);
    GUEST_DONE();
}

void a64_guest_store_pair(void) {
    struct ucall uc;
    ucall7_fill(&uc, UCALL_SYNC, 1, 0, 0, 0, 0, 0, 0);
    ucall_send_store_pair_for_test(&uc);
    GUEST_DONE();
}

void a64_guest_host_calls(void) {
    char text[4] = {'a', 'b', 'c', 0};
    uint64_t answer = GUEST_CALL_HOST(0x100, 21);
    GUEST_CALL_HOST_BUFFER(0x101, text, sizeof(text));
    GUEST_SYNC_ARGS(8, answer, (uint64_t)(uint8_t)text[0], (uint64_t)(uint8_t)text[2]);
    GUEST_DONE();
}

void a64_guest_break_vectors(uint64_t vectors) {
    __asm__ volatile("msr vbar_el1, %0\n\tisb" : : "r"(vectors) : "memory");
    *(volatile uint64_t *)(uintptr_t)0x700000000ULL = 1; // a data abort, taken to the unmapped vectors
    GUEST_DONE();                                       // not reached
}

void a64_guest_el_and_mmu(void) {
    uint64_t el, sctlr;
    __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    GUEST_SYNC_ARGS(7, el >> 2, sctlr & 1);
    GUEST_DONE();
}

#else

void a64_guest_sync_sequence(uint64_t x) { (void)x; }
int a64_guest_assert_line(void) { return 0; }
void a64_guest_assert(uint64_t value) { (void)value; }
void a64_guest_printf(void) {}
void a64_guest_unmapped_load(uint64_t address) { (void)address; }
void a64_guest_ucall_at(uint64_t address) { (void)address; }
void a64_guest_store_pair(void) {}
void a64_guest_el_and_mmu(void) {}
void a64_guest_host_calls(void) {}
void a64_guest_break_vectors(uint64_t vectors) { (void)vectors; }

#endif

GUEST_CODE_END
