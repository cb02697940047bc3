// The x86 port-I/O transport: an IN from port 0x1000 with the ucall's address in RDI, as the kernel selftests'
// x86 ucall does. The host decodes it exactly like the MMIO transport.
#include "guest_image.h"

static void pio_ucall(uint64_t cmd, uint64_t a0, uint64_t a1) {
    struct ucall uc = { .cmd = cmd, .args = { a0, a1 } };

    ucall_send_pio(&uc);
}

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    pio_ucall(UCALL_SYNC, 1, 0x10);
    pio_ucall(UCALL_SYNC, 2, 0x20);
    pio_ucall(UCALL_DONE, 0, 0);
}
