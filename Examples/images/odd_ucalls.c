// Commands the host does not act on: NONE (0) and an unknown command (99) are reported and the run goes on.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    ucall(UCALL_NONE, 1, 0x11);
    ucall(99, 3, 1, 2, 3);
    GUEST_DONE();
}
