// Guest code for the userspace_io_test port: `rep insb` from port 0x80 with counts the host rewrites mid-string.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

/// `rep insb` of `count` bytes from port 0x80 into `buffer`; the host turns a count of 2 into 1 and 3 into 8192
/// at the first exit, so the string ends one byte in (count 2) or after the whole 8 KiB buffer (count 3).
static void ins_port80(uint8_t *buffer, uint64_t count) {
    uint64_t end = (uint64_t)(uintptr_t)buffer + (count == 2 ? 1 : 8192);

    __asm__ volatile("cld; rep insb" : "+D"(buffer), "+c"(count) : "d"(0x80) : "memory");
    GUEST_ASSERT_EQ(count, 0);
    GUEST_ASSERT_EQ((uint64_t)(uintptr_t)buffer, end);
}

void guest_userspace_io(void) {
    uint8_t buffer[8192];

    ins_port80(buffer, 2);
    ins_port80(buffer, 3);

    __builtin_memset(buffer, 0, sizeof(buffer)); // the guest runtime's memset
    ins_port80(buffer, 8192);
    for (int i = 0; i < 8192; i++)
        __GUEST_ASSERT(buffer[i] == 0xaa, "expected 0xaa at buffer[%d], got 0x%x", i, buffer[i]);
    GUEST_DONE();
}

GUEST_CODE_END
