// Guest code for the host-call tests: ucalls the host answers (host_call.h).
#include "KVMHarnessGuest.h"
#include "HostCallGuests.h"

GUEST_CODE_BEGIN

void guest_sum_array(uint64_t count, uint64_t pio) {
    uint64_t values[GUEST_SUM_ARRAY_MAX];
    uint64_t expected = 0, sum;

    if (count > GUEST_SUM_ARRAY_MAX)
        count = GUEST_SUM_ARRAY_MAX;
    for (uint64_t i = 0; i < count; i++) {
        values[i] = i * i + 1;
        expected += values[i];
    }
    if (pio)
        sum = GUEST_CALL_HOST_BUFFER_PIO(GUEST_CALL_SUM, values, count * sizeof(values[0]), count);
    else
        sum = GUEST_CALL_HOST_BUFFER(GUEST_CALL_SUM, values, count * sizeof(values[0]), count);
    GUEST_ASSERT_EQ(sum, expected);
    // The host doubled every element in place: the buffer came back.
    for (uint64_t i = 0; i < count; i++)
        GUEST_ASSERT_EQ(values[i], 2 * (i * i + 1));
    GUEST_SYNC_ARGS(1, sum, count);
    GUEST_DONE();
}

const uint64_t guest_host_call_throws_line = __LINE__ + 2;
void guest_host_call_throws(void) {
    uint64_t answer = GUEST_CALL_HOST(GUEST_CALL_THROWS, 7);
    GUEST_SYNC_ARGS(1, answer);
    GUEST_DONE();
}

void guest_host_call_buffer_at(uint64_t gva) {
    GUEST_CALL_HOST_BUFFER(GUEST_CALL_SUM, (void *)(uintptr_t)gva, 64, 8);
    GUEST_DONE();
}

void guest_host_echo(void) {
    char text[4] = { 'a', 'b', 'c', 'd' };
    uint64_t args[UCALL_MAX_ARGS] = { 1, 2, 3, 4, 5, 6, 7 };
    uint64_t now;

    GUEST_ASSERT_EQ(ucall_host_call(UCALL_HOST_ECHO, args, text, sizeof(text), __FILE__, __LINE__, 0), ~1ull);
    for (int i = 0; i < UCALL_MAX_ARGS; i++)
        GUEST_ASSERT_EQ(args[i], ~(uint64_t)(i + 1));
    GUEST_ASSERT(text[0] == 'd' && text[1] == 'c' && text[2] == 'b' && text[3] == 'a');
    now = GUEST_CALL_HOST_PIO(UCALL_HOST_TIME);
    GUEST_SYNC_ARGS(1, now);
    GUEST_DONE();
}

GUEST_CODE_END
