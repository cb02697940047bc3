// Guest code for the coalesced_io_test port: MMIO and port writes that KVM buffers in the coalesced ring.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_coalesced_io(uint64_t mmio, uint64_t ring_size, uint64_t port) {
    volatile uint64_t *target = (volatile uint64_t *)mmio;
    uint64_t i;

    for (;;) {
        // MMIO first, then port I/O, for the last write: the one that exits, as KVM keeps one entry free.
        for (int pass = 0; pass < 2; pass++) {
            for (i = 0; i < ring_size - 1; i++) {
                if (i & 1)
                    outl((uint16_t)port, (uint32_t)(port + i));
                else
                    *target = mmio + i;
            }
            if (pass & 1)
                outl((uint16_t)port, (uint32_t)(port + i));
            else
                *target = mmio + i;
        }
        GUEST_SYNC(0);
        *target = mmio + i;
        outl((uint16_t)port, (uint32_t)(port + i));
    }
}

GUEST_CODE_END
