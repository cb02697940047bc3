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
