// Loops of host calls on the project's guest runtime (include/host_call.h): what a ucall the host answers costs,
// beside GUEST_SYNC (sync_loop.c).
#include "BenchmarkGuests.h"

#include "KVMHarnessGuest.h"

GUEST_CODE_BEGIN

void bench_host_call_loop(uint64_t count) {
    uint64_t value = 0;

    for (uint64_t i = 0; i < count; i++)
        value = GUEST_CALL_HOST(BENCH_HOST_CALL_ANSWER, value);
    GUEST_SYNC(value);
    GUEST_DONE();
}

void bench_host_call_buffer_loop(uint64_t count) {
    uint8_t buffer[BENCH_HOST_CALL_BUFFER];

    for (uint64_t i = 0; i < BENCH_HOST_CALL_BUFFER; i++)
        buffer[i] = 0;
    for (uint64_t i = 0; i < count; i++)
        GUEST_CALL_HOST_BUFFER(BENCH_HOST_CALL_BUFFER_COMMAND, buffer, sizeof(buffer));
    GUEST_SYNC(buffer[0]);
    GUEST_DONE();
}

GUEST_CODE_END
