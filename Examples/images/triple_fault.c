// A triple fault: with an IDT of limit 0 no exception can be delivered, so the #UD from UD2 becomes #GP, then a
// double fault, then a shutdown. The host sees KVM_EXIT_SHUTDOWN and explains it.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } empty_idt = { 0, 0 };

    (void)vcpu_index;
    GUEST_SYNC(1);
    __asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt));
    GUEST_DONE();
}
