// ucall_assert and guest_printf: the out-of-line halves of GUEST_ASSERT* and GUEST_PRINTF.
#include <stdarg.h>

#include "guest_assert.h"

GUEST_CODE_BEGIN

void ucall_assert(const char *expression, const char *file, uint64_t line, const char *fmt, ...) {
    struct ucall uc;
    va_list va;

    uc.cmd = UCALL_ABORT;
    uc.args[0] = (uint64_t)(uintptr_t)expression;
    uc.args[1] = (uint64_t)(uintptr_t)file;
    uc.args[2] = line;
    for (int i = 3; i < UCALL_MAX_ARGS; i++)
        uc.args[i] = 0;
    va_start(va, fmt);
    guest_vsnprintf(uc.buffer, sizeof(uc.buffer), fmt, va);
    va_end(va);
    for (;;)
        ucall_send(&uc);
}

void guest_printf(const char *fmt, ...) {
    struct ucall uc;
    va_list va;

    uc.cmd = UCALL_PRINTF;
    for (int i = 0; i < UCALL_MAX_ARGS; i++)
        uc.args[i] = 0;
    va_start(va, fmt);
    guest_vsnprintf(uc.buffer, sizeof(uc.buffer), fmt, va);
    va_end(va);
    ucall_send(&uc);
}

GUEST_CODE_END
