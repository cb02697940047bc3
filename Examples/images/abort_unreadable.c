// An ABORT whose expression and file pointers lead nowhere: the host still reports the ABORT, with the addresses
// it could not read.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    ucall(UCALL_ABORT, 3, 0xdead0000ULL, 0xbeef0000ULL, 7);
    GUEST_DONE();
}
