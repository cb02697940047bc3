// Hostile guests: each does something a broken guest does. None may crash or hang the host, or make it touch
// memory outside the guest.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_write_own_code(void) {
    // Code pages are shared read-only with the host: CR0.WP makes this a #PF (present, write).
    *(volatile uint8_t *)(uintptr_t)&guest_write_own_code = 0xcc;
    GUEST_DONE();
}

void guest_load_garbage_cr3(void) {
    // Page tables at an address no memslot backs: the next fetch cannot be translated, nor can the IDT.
    __asm__ volatile("movq %0, %%cr3" : : "r"(0x7fff00000000ULL) : "memory");
    GUEST_DONE();
}

// Visible outside this file, so that an optimizer cannot drop the store.
__thread uint64_t guest_per_thread_value;

void guest_thread_local(void) {
    guest_per_thread_value = 1;
    GUEST_DONE();
}

void guest_ucall_points_at_host(uint64_t host_address) {
    // A pointer that is valid in the host process but not in the guest.
    *(volatile uint64_t *)(uintptr_t)ucall_exit_mmio_addr = host_address;
    GUEST_DONE();
}

void guest_halts(void) {
    GUEST_SYNC(1);
    __asm__ volatile("cli; hlt");
    GUEST_DONE();
}

GUEST_CODE_END

// More hostile guests (issue 13). Most of the bad-pointer cases reuse guest_ucall_points_at_host with an address
// the test prepared (mapped, unmapped, or behind page tables the test corrupted); the ones below misuse the ucall
// transport itself or break the CPU's state.

GUEST_CODE_BEGIN

void guest_ucall_narrow_write(uint64_t size) {
    // A 1-, 2- or 4-byte store of a pointer: only part of the address reaches the host.
    struct ucall uc;
    ucall7_fill(&uc, UCALL_SYNC, 1, 0, 0, 0, 0, 0, 0);
    uintptr_t address = (uintptr_t)ucall_exit_mmio_addr;
    switch (size) {
    case 1: *(volatile uint8_t *)address = (uint8_t)(uintptr_t)&uc; break;
    case 2: *(volatile uint16_t *)address = (uint16_t)(uintptr_t)&uc; break;
    default: *(volatile uint32_t *)address = (uint32_t)(uintptr_t)&uc; break;
    }
    GUEST_DONE();
}

void guest_ucall_port_out(void) {
    // OUT to the ucall port instead of IN: not a ucall, an unhandled port write.
    struct ucall uc;
    ucall7_fill(&uc, UCALL_SYNC, 1, 0, 0, 0, 0, 0, 0);
    __asm__ volatile("outb %%al, %%dx" : : "a"(0x5a), "d"((uint16_t)UCALL_PIO_PORT), "D"(&uc) : "memory");
    GUEST_DONE();
}

void guest_unknown_command(uint64_t command) {
    ucall7(command, 1, 2, 3, 0, 0, 0, 0);
    GUEST_DONE();
}

void guest_send_struct(uint64_t address) {
    // The test filled the struct at `address` (a command, strings, a buffer); this only hands it over.
    ucall_send((struct ucall *)(uintptr_t)address);
    GUEST_DONE();
}

void guest_abort_strings(uint64_t expression, uint64_t file) {
    struct ucall uc;
    ucall7_fill(&uc, UCALL_ABORT, expression, file, 42, 0, 0, 0, 0);
    uc.buffer[0] = 0;
    ucall_send(&uc);
    GUEST_DONE();
}

void guest_printf_unterminated(void) {
    // A PRINTF whose buffer is 1024 non-NUL bytes: the host must stop at the buffer's end.
    struct ucall uc;
    ucall7_fill(&uc, UCALL_PRINTF, 0, 0, 0, 0, 0, 0, 0);
    for (int i = 0; i < UCALL_BUFFER_SIZE; i++) ((volatile char *)uc.buffer)[i] = 'A' + i % 26;
    ucall_send(&uc);
    GUEST_DONE();
}

void guest_paging_off(void) {
    // Clearing CR0.PG in 64-bit mode is a #GP (SDM: MOV to CR0 with PG=0 while IA32_EFER.LMA=1 and CS.L=1).
    uint64_t cr0;
    __asm__ volatile("movq %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("movq %0, %%cr0" : : "r"(cr0 & ~(1ULL << 31)) : "memory");
    GUEST_DONE();
}

void guest_execute_ucall_address(void) {
    // Jump to the ucall MMIO address: an instruction fetch from a page no memslot backs.
    ((void (*)(void))(uintptr_t)ucall_exit_mmio_addr)();
    GUEST_DONE();
}

void guest_triple_fault(void) {
    // No IDT: the #UD cannot be delivered, nor the #DF, so the CPU shuts down.
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idt = {0, 0};
    __asm__ volatile("lidt %0; ud2" : : "m"(idt) : "memory");
    GUEST_DONE();
}

void guest_ucall_flood(uint64_t count) {
    for (uint64_t i = 0; i < count; i++) GUEST_SYNC(i);
    GUEST_DONE();
}

void guest_sync_done(uint64_t value) {
    GUEST_SYNC(value);
    GUEST_DONE();
}

GUEST_CODE_END
