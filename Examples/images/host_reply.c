// The built-in host calls (docs/guest-image-abi.md, "Host calls"): echo answers each argument inverted and the buffer
// reversed; time answers the host's CLOCK_REALTIME and CLOCK_MONOTONIC. The guest checks both answers, then DONE.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    char text[5] = { 'h', 'e', 'l', 'l', 'o' };
    uint64_t answer = GUEST_CALL_HOST_BUFFER(UCALL_HOST_ECHO, text, sizeof(text), 0x1234, vcpu_index);

    GUEST_ASSERT_EQ(answer, ~0x1234ull);
    GUEST_ASSERT(text[0] == 'o' && text[1] == 'l' && text[2] == 'l' && text[3] == 'e' && text[4] == 'h');
    uint64_t args[UCALL_MAX_ARGS] = { 0 };
    ucall_host_call(UCALL_HOST_TIME, args, 0, 0, __FILE__, __LINE__, 1);
    // After 2020-01-01 and a monotonic clock that has started: a real answer, not the zeros the guest sent.
    GUEST_ASSERT_GT(args[0], 1577836800ull * 1000000000ull);
    GUEST_ASSERT_NE(args[1], 0);
    GUEST_SYNC_ARGS(1, text[0], text[4]);
    GUEST_DONE();
}
