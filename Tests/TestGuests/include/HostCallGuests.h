// Guest code for the host-call and many-vCPU tests (host_calls.c, many_vcpus.c).
#ifndef HOST_CALL_GUESTS_H
#define HOST_CALL_GUESTS_H

#include <stdint.h>

/// The host call that sums the u64 array in its buffer (args[0] = the count) and doubles each element in place.
#define GUEST_CALL_SUM 0x100
/// A host call whose handler throws.
#define GUEST_CALL_THROWS 0x101
/// The longest array guest_sum_array sends.
#define GUEST_SUM_ARRAY_MAX 128

/// Sends `count` values i*i+1 in a buffer to GUEST_CALL_SUM (over port I/O if `pio`), asserts the sum and the
/// doubled values, then SYNC(1, sum, count), DONE.
void guest_sum_array(uint64_t count, uint64_t pio);
/// Makes GUEST_CALL_THROWS at guest_host_call_throws_line, then SYNC(1, answer), DONE.
void guest_host_call_throws(void);
/// The line of guest_host_call_throws's call.
extern const uint64_t guest_host_call_throws_line;
/// GUEST_CALL_SUM with a 64-byte buffer at `gva`, then DONE.
void guest_host_call_buffer_at(uint64_t gva);
/// The built-in calls: echo (arguments inverted, buffer reversed) over MMIO, asserted; then the host's time over
/// port I/O; SYNC(1, realtime ns), DONE.
void guest_host_echo(void);

/// `count` times SYNC(1, index, i) for i = 0 to count-1 (over port I/O if `pio`), then DONE.
void guest_count_ucalls(uint64_t index, uint64_t count, uint64_t pio);

#endif
