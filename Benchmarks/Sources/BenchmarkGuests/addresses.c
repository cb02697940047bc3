// Host code: the addresses of the assembly labels, which Swift cannot import (incomplete arrays).
#include "BenchmarkGuests.h"

const void *bench_guest_code_start_address(void) { return bench_guest_code_start; }
const void *bench_guest_code_end_address(void) { return bench_guest_code_end; }
