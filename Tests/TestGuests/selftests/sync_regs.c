// Guest code for the sync_regs_test port: an endless port-I/O ucall NONE, counting iterations in RBX.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

static struct ucall none_ucall = { .cmd = UCALL_NONE };

void guest_sync_regs_loop(void) {
    __asm__ volatile("1: in %[port], %%al\n\t"
                     "add $1, %%rbx\n\t"
                     "jmp 1b"
                     :
                     : [port] "d"((uint16_t)UCALL_PIO_PORT), "D"(&none_ucall)
                     : "rax", "rbx", "memory");
}

GUEST_CODE_END
