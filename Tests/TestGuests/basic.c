// Guest code for the core tests. Each function runs inside a VM; it may only use the guest runtime.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_sync_stages(uint64_t a, uint64_t b) {
    GUEST_SYNC_ARGS(1, 0x11, 0x12);
    GUEST_SYNC_ARGS(2, 0x21, 0x22, 0x23);
    GUEST_SYNC_ARGS(3, a, b, a + b);
    GUEST_DONE();
}

struct big {
    uint64_t words[128];
};

// noinline and volatile-free on purpose: the compiler must emit real memcpy/memset calls for the copies.
static __attribute__((noinline)) void copy_big(struct big *dst, const struct big *src) { *dst = *src; }
static __attribute__((noinline)) void zero_big(struct big *b) { *b = (struct big){ 0 }; }

static struct big source_block;

void guest_struct_copy(void) {
    struct big copy;
    uint64_t sum = 0, zeros = 0;

    for (int i = 0; i < 128; i++)
        source_block.words[i] = (uint64_t)i * 3 + 1;
    copy_big(&copy, &source_block);
    for (int i = 0; i < 128; i++)
        sum += copy.words[i];
    zero_big(&copy);
    for (int i = 0; i < 128; i++)
        zeros += copy.words[i] == 0;
    GUEST_SYNC_ARGS(1, sum, zeros, sizeof(struct big));
    GUEST_DONE();
}

void guest_straddling_ucall(uint64_t gva) {
    struct ucall *uc = (struct ucall *)gva;

    uc->cmd = UCALL_SYNC;
    for (int i = 0; i < UCALL_MAX_ARGS; i++)
        uc->args[i] = 0xa0 + i;
    ucall_send(uc);
    GUEST_DONE();
}

void guest_ucall_wrong_size(void) {
    *(volatile uint32_t *)(uintptr_t)ucall_exit_mmio_addr = 0x1234;
    GUEST_DONE();
}

void guest_ucall_read(void) {
    (void)*(volatile uint64_t *)(uintptr_t)ucall_exit_mmio_addr;
    GUEST_DONE();
}

void guest_ucall_unmapped(uint64_t gva) {
    *(volatile uint64_t *)(uintptr_t)ucall_exit_mmio_addr = gva;
    GUEST_DONE();
}

uint64_t guest_counter_value = 40;

void guest_counter(void) {
    guest_counter_value += 2;
    GUEST_SYNC(guest_counter_value);
    GUEST_DONE();
}

void guest_returns(void) { GUEST_SYNC(7); }

void guest_per_vcpu(uint64_t id) {
    GUEST_SYNC_ARGS(1, id);
    GUEST_DONE();
}

void guest_pio_sync(void) {
    struct ucall uc;

    uc.cmd = UCALL_SYNC;
    uc.args[0] = 1;
    for (int i = 1; i < UCALL_MAX_ARGS; i++)
        uc.args[i] = 0;
    ucall_send_pio(&uc);
    GUEST_DONE();
}

void guest_done_forever(void) {
    for (;;)
        GUEST_DONE();
}

GUEST_CODE_END
