// Guest code for the port of Linux 6.12 x86_64/exit_on_emulation_failure_test.c (ExitOnEmulationFailureTests.swift).
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_flds_from_mmio(uint64_t address) {
    // FLDS (%rax), encoded by hand so that no x87 code generation is involved: an operand in MMIO makes KVM emulate
    // the instruction, and its emulator has no x87 loads. The host skips the 2 bytes and resumes here.
    __asm__ volatile(".byte 0xd9, 0x00" ::"a"(address) : "memory");
    GUEST_DONE();
}

GUEST_CODE_END
