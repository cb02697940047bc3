// Guest code for the benchmarks. Each function runs in the guest, never in the host.
#ifndef BENCHMARK_GUESTS_H
#define BENCHMARK_GUESTS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Sends `count` ucalls SYNC [i, 0, 0, 0, 0, 0, 0], then DONE; `mmio_address` 0 selects the port-I/O transport.
/// Hand-written assembly (ucall_loops.S) that sets cmd and args[1...6] once: 5 guest instructions per ucall.
void bench_ucall_loop(uint64_t count, uint64_t mmio_address);

/// The same ucalls over MMIO, each built in full (eight stores, then the exit store): the hand-written minimum of a
/// self-contained SYNC.
void bench_sync_minimum(uint64_t count, uint64_t mmio_address);

/// `count` GUEST_SYNC(i) on the project's guest runtime, then GUEST_DONE().
void bench_guest_sync_loop(uint64_t count);

/// The host call that answers args[0] + 1 (8 bytes back), and the one whose 1 KiB buffer goes to the host and back.
#define BENCH_HOST_CALL_ANSWER 0x100
#define BENCH_HOST_CALL_BUFFER_COMMAND 0x101
#define BENCH_HOST_CALL_BUFFER 1024

/// `count` GUEST_CALL_HOST(BENCH_HOST_CALL_ANSWER, previous answer), then SYNC(last answer: count), DONE.
void bench_host_call_loop(uint64_t count);
/// `count` GUEST_CALL_HOST_BUFFER(BENCH_HOST_CALL_BUFFER_COMMAND) of a 1 KiB buffer, then SYNC(buffer[0]), DONE.
void bench_host_call_buffer_loop(uint64_t count);

/// The bounds of the hand-written guest code (both loops), which the raw-KVM baseline copies into its guest.
extern const unsigned char bench_guest_code_start[];
extern const unsigned char bench_guest_code_end[];

/// The address of bench_guest_code_start (Swift cannot import an incomplete array). Host code.
const void *bench_guest_code_start_address(void);
/// The address of bench_guest_code_end. Host code.
const void *bench_guest_code_end_address(void);

/// memslot_perf_test's move guest: SYNC(0), then writes each page of [area, area + size) until the word at
/// `stop_gva` is not 0, then DONE.
void bench_memory_move_writer(uint64_t area, uint64_t size, uint64_t stop_gva);
/// The memstress guest (dirty_log_perf_test): forever writes the pass number into each of the `pages` pages at
/// `gva`, then SYNC(pass).
void bench_memory_memstress(uint64_t gva, uint64_t pages);

#ifdef __cplusplus
}
#endif

#endif
