// Never finishes: the run ends at --timeout with status 3.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    GUEST_SYNC(1);
    for (;;)
        __asm__ volatile("pause");
}
