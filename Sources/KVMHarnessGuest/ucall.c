// The out-of-line ucall and the variable the host fills in with the MMIO address.
#include <stdarg.h>

#include "ucall.h"

GUEST_CODE_BEGIN

// Zero in the host process; the harness writes the chosen address into each VM's copy of it.
uint64_t ucall_exit_mmio_addr;

uint64_t *ucall_exit_mmio_addr_location(void) { return &ucall_exit_mmio_addr; }

void ucall(uint64_t cmd, int nargs, ...) {
    struct ucall uc;
    va_list va;
    int i;

    if (nargs < 0)
        nargs = 0;
    if (nargs > UCALL_MAX_ARGS)
        nargs = UCALL_MAX_ARGS;
    uc.cmd = cmd;
    va_start(va, nargs);
    for (i = 0; i < nargs; i++)
        uc.args[i] = va_arg(va, uint64_t);
    va_end(va);
    for (; i < UCALL_MAX_ARGS; i++)
        uc.args[i] = 0;
    uc.buffer[0] = '\0';
    ucall_send(&uc);
}

GUEST_CODE_END
