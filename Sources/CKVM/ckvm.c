// The functions CKVM cannot leave inline: dl_iterate_phdr and pthread_tryjoin_np need _GNU_SOURCE, which Swift's
// Glibc module is not built with, and the once-per-thread flag of the kick signal needs one thread-local variable
// for the whole process, which a `static inline` function in a header would duplicate in every module using it.
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>

#include "CKVM.h"

struct find_context {
    uint64_t address;
    struct ckvm_loaded_segment *segments;
    int capacity;
    int count;
};

static int visit_object(struct dl_phdr_info *info, size_t size, void *data) {
    struct find_context *context = data;
    int contains = 0, count = 0;

    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        uint64_t start = info->dlpi_addr + header->p_vaddr;

        if (header->p_type != PT_LOAD)
            continue;
        if (context->address >= start && context->address - start < header->p_memsz)
            contains = 1;
        if (count < context->capacity) {
            context->segments[count].address = start;
            context->segments[count].size = header->p_memsz;
            context->segments[count].flags = header->p_flags;
        }
        count++;
    }
    if (!contains)
        return 0;
    context->count = count < context->capacity ? count : context->capacity;
    return 1;
}

int ckvm_find_loaded_object(uint64_t address, struct ckvm_loaded_segment *segments, int capacity) {
    struct find_context context = { address, segments, capacity, 0 };

    dl_iterate_phdr(visit_object, &context);
    return context.count;
}

static _Thread_local int kick_signal_unblocked;

void ckvm_unblock_kick_signal_once(void) {
    if (kick_signal_unblocked)
        return;
    if (ckvm_unblock_kick_signal() == 0)
        kick_signal_unblocked = 1;
}

int ckvm_pthread_tryjoin(pthread_t thread) {
    return pthread_tryjoin_np(thread, NULL);
}

void ckvm_name_this_thread(const char *name) {
    pthread_setname_np(pthread_self(), name);
}
