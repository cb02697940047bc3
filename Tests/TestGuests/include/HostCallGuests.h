// Guest code for the host-call and many-vCPU tests (host_calls.c, many_vcpus.c, user_mode_guests.c).
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
/// guest_count_ucalls's SYNCs made at CPL3 (index below 256), then DONE at CPL0.
void guest_count_ucalls_user(uint64_t index, uint64_t count, uint64_t pio);

/// SYNC(1, CPL) at CPL0; at CPL3 SYNC(2, CPL) and GUEST_CALL_SUM of {1, 2, 3, 4} (asserting the doubled buffer);
/// SYNC(3, CPL, sum) at CPL0; DONE at CPL3. Every ucall over port I/O if `pio`, else MMIO (the CPL0 ones always MMIO).
void guest_user_mode(uint64_t pio);
/// At CPL3, a ucall whose struct is at `gva` (8-byte aligned), over port I/O if `pio`; then DONE at CPL0.
void guest_user_points_at(uint64_t gva, uint64_t pio);

#endif
