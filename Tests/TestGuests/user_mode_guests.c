// Guest code for the user-mode tests: functions run at CPL3 with guest_run_user.
#include "KVMHarnessGuest.h"
#include "HostCallGuests.h"

GUEST_CODE_BEGIN

// CPL3: SYNC(2, CPL) and a host call over the transport `pio` chooses; returns the host's answer.
static uint64_t user_sync_and_call(uint64_t pio) {
    uint64_t values[4] = { 1, 2, 3, 4 };
    uint64_t sum;

    if (pio) {
        ucall7_pio(UCALL_SYNC, 2, guest_cpl(), 0, 0, 0, 0, 0);
        sum = GUEST_CALL_HOST_BUFFER_PIO(GUEST_CALL_SUM, values, sizeof(values), 4);
    } else {
        ucall7(UCALL_SYNC, 2, guest_cpl(), 0, 0, 0, 0, 0);
        sum = GUEST_CALL_HOST_BUFFER(GUEST_CALL_SUM, values, sizeof(values), 4);
    }
    GUEST_ASSERT_EQ(values[3], 8);
    return sum;
}

static uint64_t user_done(uint64_t pio) {
    if (pio)
        ucall7_pio(UCALL_DONE, 0, 0, 0, 0, 0, 0, 0);
    else
        GUEST_DONE();
    return 0;
}

void guest_user_mode(uint64_t pio) {
    GUEST_SYNC_ARGS(1, guest_cpl());
    uint64_t sum = guest_run_user(user_sync_and_call, pio);
    GUEST_SYNC_ARGS(3, guest_cpl(), sum);
    guest_run_user(user_done, pio);
    GUEST_FAIL("user mode came back after DONE");
}

// CPL3: a ucall whose struct pointer is `gva` (a supervisor-only page), over the transport `pio` chooses.
static uint64_t user_points_at(uint64_t gva_and_pio) {
    uint64_t gva = gva_and_pio & ~1ull;

    if (gva_and_pio & 1)
        ucall_send_pio((struct ucall *)(uintptr_t)gva);
    else
        ucall_send((struct ucall *)(uintptr_t)gva);
    return 0;
}

void guest_user_points_at(uint64_t gva, uint64_t pio) {
    guest_run_user(user_points_at, gva | (pio & 1));
    GUEST_DONE();
}

GUEST_CODE_END
