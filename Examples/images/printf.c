// GUEST_PRINTF between checkpoints: PRINTF never stops a run.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    GUEST_PRINTF("hello from vCPU %llu", (unsigned long long)vcpu_index);
    GUEST_SYNC(1);
    GUEST_PRINTF("%d + %d = %d, %s, 0x%08x", 2, 3, 2 + 3, "formatted by the guest", 0xbeef);
    GUEST_DONE();
}
