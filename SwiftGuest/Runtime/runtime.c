// The freestanding C runtime of Embedded Swift guest images: the entry point, ucalls that carry text, and what
// Embedded Swift code calls into C for: a heap (posix_memalign, malloc, free) and random bytes for hash seeding.
// memcpy, memset, memmove, memcmp, bcmp and strlen come from the C guest runtime (Sources/KVMHarnessGuest/string.c),
// as do ucall_exit_mmio_addr and ucall (ucall.c).
//
// Built with -mgeneral-regs-only (scripts/build-swift-guest.sh): no SSE or x87 for KVM's instruction emulator.
#include "swift_guest_runtime.h"

// Swift's entry point: an `@main` type's main() or a main.swift's top-level code, both emitted as C `main`.
int main(int argc, char **argv);

// Static constructors, if any object file has them (the linker script brackets .init_array).
typedef void (*kvmh_constructor)(void);
extern kvmh_constructor __init_array_start[], __init_array_end[];

static void send_text(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2, const void *text, size_t length,
                      struct ucall *uc) {
    const char *bytes = text;

    uc->cmd = cmd;
    uc->args[0] = a0;
    uc->args[1] = a1;
    uc->args[2] = a2;
    for (int i = 3; i < UCALL_MAX_ARGS; i++)
        uc->args[i] = 0;
    if (length > UCALL_BUFFER_SIZE - 1)
        length = UCALL_BUFFER_SIZE - 1;
    for (size_t i = 0; i < length; i++)
        uc->buffer[i] = bytes[i];
    uc->buffer[length] = '\0';
}

void kvmh_swift_ucall_text(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2, const void *text, size_t length,
                           int transport) {
    struct ucall uc;

    send_text(cmd, a0, a1, a2, text, length, &uc);
    if (transport == KVMH_SWIFT_TRANSPORT_PORT_IO)
        ucall_send_pio(&uc);
    else
        ucall_send(&uc);
}

void kvmh_swift_abort(const char *expression, const char *file, uint64_t line, const void *text, size_t length) {
    struct ucall uc;

    send_text(UCALL_ABORT, (uint64_t)(uintptr_t)expression, (uint64_t)(uintptr_t)file, line, text, length, &uc);
    for (;;)
        ucall_send(&uc);
}

#define STATIC_TEXT(s) (s), sizeof(s) - 1

// The first vCPU to arrive runs the static constructors; the others wait until it has.
static void run_constructors_once(void) {
    static int state; // 0: not started, 1: running, 2: done
    int expected = 0;

    if (__atomic_compare_exchange_n(&state, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        for (kvmh_constructor *constructor = __init_array_start; constructor < __init_array_end; constructor++)
            (*constructor)();
        __atomic_store_n(&state, 2, __ATOMIC_RELEASE);
    }
    while (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
        __asm__ volatile("pause");
}

#define MSR_GS_BASE 0xc0000101u

// Every vCPU starts here with its index in RDI (docs/guest-image-abi.md), or the first argument a test chose. It
// keeps that in a per-vCPU block on its own stack that GS points at (guestEntryArgument in Swift), and Swift's main
// gets it as argc too. A guest ends with guestDone(), after which the host never resumes the vCPU, so a main that
// returns forgot it: that is an ABORT, as a C guest's entry function returning is.
__attribute__((section(".text.kvmh_start"), noreturn, used)) void _start(uint64_t argument) {
    struct kvmh_vcpu_local local = {.entry_argument = argument};
    uint64_t address = (uint64_t)(uintptr_t)&local;

    __asm__ volatile("wrmsr" : : "c"(MSR_GS_BASE), "a"((uint32_t)address), "d"((uint32_t)(address >> 32)) : "memory");
    run_constructors_once();
    main((int)argument, 0);
    kvmh_swift_abort("main returned", __FILE__, __LINE__,
                     STATIC_TEXT("the guest's main returned without calling guestDone()"));
}

// ---------------------------------------------------------------------------------------------------------------
// The heap: power-of-two size classes from 16 bytes up, each with a free list, carved from one static arena by a
// bump pointer. A block's class sits in the 16 bytes before it. Several vCPUs share it under a spinlock (XCHG,
// which KVM's emulator runs). Running out is an ABORT that says how to get more, never a null Swift would trap on.

#ifndef KVMH_SWIFT_GUEST_HEAP_SIZE
#define KVMH_SWIFT_GUEST_HEAP_SIZE (8u << 20)
#endif
#define HEAP_HEADER 16
#define MIN_CLASS 4  // 16 bytes
#define MAX_CLASS 40 // beyond any arena: a request that large fails as exhaustion

struct free_block {
    struct free_block *next;
};

static char heap_arena[KVMH_SWIFT_GUEST_HEAP_SIZE] __attribute__((aligned(4096)));
static size_t heap_top;
static struct free_block *free_lists[MAX_CLASS + 1];
static int heap_lock;

static void lock_heap(void) {
    while (__atomic_exchange_n(&heap_lock, 1, __ATOMIC_ACQUIRE))
        __asm__ volatile("pause");
}

static void unlock_heap(void) { __atomic_store_n(&heap_lock, 0, __ATOMIC_RELEASE); }

static _Noreturn void heap_exhausted(void) {
    kvmh_swift_abort("guest heap", __FILE__, __LINE__,
                     STATIC_TEXT("the Swift guest heap is exhausted: build the image with a larger "
                                 "KVMH_SWIFT_GUEST_HEAP_SIZE (bytes; see scripts/build-swift-guest.sh)"));
}

// The block (header included) of class `cls`, 2^cls bytes, aligned to 2^min(cls, 12).
static void *allocate_class(int cls) {
    void *block;

    lock_heap();
    if (free_lists[cls]) {
        block = free_lists[cls];
        free_lists[cls] = free_lists[cls]->next;
    } else {
        size_t size = (size_t)1 << cls;
        size_t align = size < 4096 ? size : 4096;
        size_t start = (heap_top + align - 1) & ~(align - 1);
        if (start > sizeof heap_arena || sizeof heap_arena - start < size) {
            unlock_heap();
            heap_exhausted();
        }
        heap_top = start + size;
        block = heap_arena + start;
    }
    unlock_heap();
    return block;
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    // The block must hold the header, then `size` bytes at a multiple of `alignment` (at most a page).
    if (alignment < HEAP_HEADER)
        alignment = HEAP_HEADER;
    if (alignment > 4096 || (alignment & (alignment - 1)))
        return 22; // EINVAL
    size_t needed = size + (alignment > HEAP_HEADER ? alignment : HEAP_HEADER);
    if (size > sizeof heap_arena || needed > sizeof heap_arena)
        heap_exhausted();
    int cls = MIN_CLASS;
    while (((size_t)1 << cls) < needed)
        cls++;
    char *block = allocate_class(cls);
    // Blocks are aligned to their size (up to a page), so the first aligned address past the header is in it.
    char *user = (char *)(((uintptr_t)block + HEAP_HEADER + alignment - 1) & ~(uintptr_t)(alignment - 1));
    ((uint64_t *)user)[-1] = (uint64_t)cls;
    ((uint64_t *)user)[-2] = (uint64_t)(uintptr_t)block;
    *result = user;
    return 0;
}

void *malloc(size_t size) {
    void *result;
    posix_memalign(&result, 16, size);
    return result;
}

void free(void *pointer) {
    if (!pointer)
        return;
    int cls = (int)((uint64_t *)pointer)[-1];
    struct free_block *block = (struct free_block *)(uintptr_t)((uint64_t *)pointer)[-2];
    lock_heap();
    block->next = free_lists[cls];
    free_lists[cls] = block;
    unlock_heap();
}

// Embedded Swift seeds Hasher with random bytes. A guest has no entropy the host does not control, and tests want
// runs to repeat, so the seed is a fixed pattern: Dictionary and Set iterate in the same order on every run.
void arc4random_buf(void *buffer, size_t count) {
    unsigned char *bytes = buffer;
    uint64_t state = 0x9e3779b97f4a7c15ULL;

    for (size_t i = 0; i < count; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes[i] = (unsigned char)state;
    }
}
