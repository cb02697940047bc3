// The one function CKVM cannot leave inline: dl_iterate_phdr needs _GNU_SOURCE, which Swift's Glibc module is not
// built with. Compiling this file also checks CKVM.h's _Static_asserts once.
#define _GNU_SOURCE
#include <link.h>

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
