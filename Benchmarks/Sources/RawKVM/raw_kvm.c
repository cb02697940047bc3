// The raw-KVM baseline (see RawKVM.h): bare ioctls, the least work that runs the benchmark's guest loop.
#include "RawKVM.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE 4096ULL
#define PTE_PRESENT (1ULL << 0)
#define PTE_WRITABLE (1ULL << 1)
#define PTE_NX (1ULL << 63)

#define CODE_GVA 0x400000ULL
#define GDT_GVA 0x300000ULL
#define TSS_OFFSET 0x800 // the TSS lives in the GDT's page
#define STACK_GVA 0x800000ULL
#define STACK_SIZE (4 * PAGE_SIZE)
#define UCALL_PIO_PORT 0x1000

struct raw_vm {
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    uint8_t *memory;
    uint64_t memory_size;
    uint64_t next_free;    // bump allocator for guest-physical pages
    uint64_t pml4;         // guest-physical address of the PML4
    uint64_t ucall_address;
    int port_io;
    uint64_t memslot_nanoseconds; // how long KVM_SET_USER_MEMORY_REGION for guest RAM took
    uint64_t code_size;           // bytes of guest code copied to CODE_GVA, 0 before raw_vm_copy_code
};

static uint64_t now_nanoseconds(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (uint64_t)time.tv_sec * 1000000000ULL + (uint64_t)time.tv_nsec;
}

static int kvm_fd = -1;
static int kvm_open_result = 1; // 1: not tried yet
static int run_size;
static struct kvm_cpuid2 *supported_cpuid;
static int address_bits = 36;
static char last_error[256];

static int fail(const char *operation) {
    snprintf(last_error, sizeof(last_error), "%s: %s", operation, strerror(errno));
    return -1;
}

const char *raw_kvm_last_error(void) { return last_error; }

int raw_kvm_open(void) {
    if (kvm_open_result != 1)
        return kvm_open_result;
    kvm_open_result = -1;
    kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_fd < 0)
        return fail("open /dev/kvm");
    run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < 0)
        return fail("KVM_GET_VCPU_MMAP_SIZE");
    for (int entries = 64;; entries *= 2) {
        supported_cpuid = calloc(1, sizeof(*supported_cpuid) + entries * sizeof(struct kvm_cpuid_entry2));
        if (!supported_cpuid)
            return fail("calloc");
        supported_cpuid->nent = entries;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, supported_cpuid) == 0)
            break;
        if (errno != E2BIG || entries >= 4096)
            return fail("KVM_GET_SUPPORTED_CPUID");
        free(supported_cpuid);
    }
    // The ucall MMIO address must be a guest-physical address below MAXPHYADDR and a lower-half canonical
    // virtual address, since it is identity-mapped.
    int physical = 36, virtual = 48;
    for (uint32_t i = 0; i < supported_cpuid->nent; i++) {
        if (supported_cpuid->entries[i].function == 0x80000008) {
            physical = supported_cpuid->entries[i].eax & 0xff;
            virtual = (supported_cpuid->entries[i].eax >> 8) & 0xff;
        }
    }
    unsigned int eax, ebx, ecx, edx;
    if (__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx) && (int)(eax & 0xff) < physical)
        physical = eax & 0xff;
    address_bits = physical < virtual - 1 ? physical : virtual - 1;
    kvm_open_result = 0;
    return 0;
}

static uint64_t allocate_page(struct raw_vm *vm) {
    uint64_t page = vm->next_free;
    vm->next_free += PAGE_SIZE;
    return page; // fresh anonymous memory: already zero
}

static uint64_t *guest_u64(struct raw_vm *vm, uint64_t gpa) { return (uint64_t *)(vm->memory + gpa); }

/// Maps the 4 KiB page at `gva` to `gpa` with `flags`, creating intermediate tables as needed.
static void map_page(struct raw_vm *vm, uint64_t gva, uint64_t gpa, uint64_t flags) {
    uint64_t table = vm->pml4;
    for (int level = 4; level > 1; level--) {
        uint64_t *entry = guest_u64(vm, table + ((gva >> (12 + 9 * (level - 1))) & 0x1ff) * 8);
        if (!(*entry & PTE_PRESENT))
            *entry = allocate_page(vm) | PTE_PRESENT | PTE_WRITABLE;
        table = *entry & 0x000ffffffffff000ULL;
    }
    *guest_u64(vm, table + ((gva >> 12) & 0x1ff) * 8) = gpa | flags | PTE_PRESENT;
}

/// Allocates and maps `size` bytes at `gva`; returns the guest-physical address of the first page.
static uint64_t map_new(struct raw_vm *vm, uint64_t gva, uint64_t size, uint64_t flags) {
    uint64_t first = vm->next_free;
    for (uint64_t offset = 0; offset < size; offset += PAGE_SIZE)
        map_page(vm, gva + offset, allocate_page(vm), flags);
    return first;
}

static void set_segment(struct kvm_segment *segment, uint16_t selector, uint8_t type, int code) {
    memset(segment, 0, sizeof(*segment));
    segment->limit = 0xffffffff;
    segment->selector = selector;
    segment->type = type;
    segment->present = 1;
    segment->db = code ? 0 : 1;
    segment->s = 1;
    segment->l = code ? 1 : 0;
    segment->g = 1;
}

static int create_vcpu(struct raw_vm *vm, uint64_t entry, uint64_t count, uint64_t valid_regs) {
    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0)
        return fail("KVM_CREATE_VCPU");
    vm->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
    if (vm->run == MAP_FAILED) {
        vm->run = NULL;
        return fail("mmap kvm_run");
    }
    vm->run->kvm_valid_regs = valid_regs;

    // CPUID first: it sets the guest's MAXPHYADDR, and with the default one the ucall address would be a
    // reserved physical-address bit in the page tables.
    if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, supported_cpuid) < 0)
        return fail("KVM_SET_CPUID2");

    struct kvm_sregs sregs;
    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return fail("KVM_GET_SREGS");
    sregs.cr0 = 1ULL << 0 | 1ULL << 1 | 1ULL << 4 | 1ULL << 5 | 1ULL << 16 | 1ULL << 31; // PE MP ET NE WP PG
    sregs.cr3 = vm->pml4;
    sregs.cr4 = 1ULL << 5 | 1ULL << 9 | 1ULL << 10;  // PAE OSFXSR OSXMMEXCPT
    sregs.efer = 1ULL << 8 | 1ULL << 10 | 1ULL << 11; // LME LMA NXE
    set_segment(&sregs.cs, 0x08, 0xb, 1);
    set_segment(&sregs.ds, 0x10, 0x3, 0);
    sregs.es = sregs.ss = sregs.fs = sregs.gs = sregs.ds;
    memset(&sregs.tr, 0, sizeof(sregs.tr));
    sregs.tr.base = GDT_GVA + TSS_OFFSET;
    sregs.tr.limit = 0x67;
    sregs.tr.selector = 0x18;
    sregs.tr.type = 0xb;
    sregs.tr.present = 1;
    memset(&sregs.ldt, 0, sizeof(sregs.ldt));
    sregs.ldt.unusable = 1;
    sregs.ldt.type = 2;
    sregs.gdt.base = GDT_GVA;
    sregs.gdt.limit = 5 * 8 - 1;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
        return fail("KVM_SET_SREGS");

    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = entry;
    regs.rsp = STACK_GVA + STACK_SIZE - 8;
    regs.rflags = 0x2;
    regs.rdi = count;
    regs.rsi = vm->port_io ? 0 : vm->ucall_address;
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return fail("KVM_SET_REGS");
    return 0;
}

struct raw_vm *raw_vm_create(uint64_t memory_size) {
    if (raw_kvm_open() < 0)
        return NULL;
    struct raw_vm *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        fail("calloc");
        return NULL;
    }
    vm->vcpu_fd = -1;
    vm->memory_size = memory_size;
    vm->next_free = PAGE_SIZE;
    vm->ucall_address = (1ULL << address_bits) / 8 * 5;

    vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        fail("KVM_CREATE_VM");
        free(vm);
        return NULL;
    }
    vm->memory = mmap(NULL, memory_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (vm->memory == MAP_FAILED) {
        vm->memory = NULL;
        fail("mmap guest memory");
        goto failed;
    }
    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = 0, .memory_size = memory_size,
        .userspace_addr = (uint64_t)(uintptr_t)vm->memory,
    };
    uint64_t before = now_nanoseconds();
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        fail("KVM_SET_USER_MEMORY_REGION");
        goto failed;
    }
    vm->memslot_nanoseconds = now_nanoseconds() - before;

    vm->pml4 = allocate_page(vm);
    uint64_t gdt = map_new(vm, GDT_GVA, PAGE_SIZE, PTE_WRITABLE | PTE_NX);
    uint64_t *descriptors = guest_u64(vm, gdt);
    uint64_t tss = GDT_GVA + TSS_OFFSET;
    descriptors[1] = 0x00af9b000000ffffULL; // 64-bit code
    descriptors[2] = 0x00cf93000000ffffULL; // data
    descriptors[3] = 0x67 | (tss & 0xffffff) << 16 | 0x8bULL << 40 | ((tss >> 24) & 0xff) << 56; // busy TSS
    descriptors[4] = tss >> 32;
    map_new(vm, STACK_GVA, STACK_SIZE, PTE_WRITABLE | PTE_NX);
    map_page(vm, vm->ucall_address & ~(PAGE_SIZE - 1), vm->ucall_address & ~(PAGE_SIZE - 1), PTE_WRITABLE | PTE_NX);
    return vm;

failed:
    raw_vm_destroy(vm);
    return NULL;
}

int raw_vm_copy_code(struct raw_vm *vm, const void *code, uint64_t code_size) {
    uint64_t size = (code_size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (vm->code_size || vm->next_free + size + 4 * PAGE_SIZE > vm->memory_size) {
        snprintf(last_error, sizeof(last_error), "raw_vm_copy_code: already loaded, or out of guest memory");
        return -1;
    }
    uint64_t gpa = map_new(vm, CODE_GVA, size, 0);
    memcpy(vm->memory + gpa, code, code_size);
    vm->code_size = code_size;
    return 0;
}

int raw_vm_add_vcpu(struct raw_vm *vm, uint64_t entry_offset, uint64_t count, int port_io, uint64_t valid_regs) {
    if (vm->vcpu_fd >= 0 || entry_offset >= vm->code_size) {
        snprintf(last_error, sizeof(last_error), "raw_vm_add_vcpu: a vCPU exists already, or no code there");
        return -1;
    }
    vm->port_io = port_io;
    return create_vcpu(vm, CODE_GVA + entry_offset, count, valid_regs);
}

int raw_vm_load(struct raw_vm *vm, const void *code, uint64_t code_size, uint64_t entry_offset, uint64_t count,
                int port_io, uint64_t valid_regs) {
    if (raw_vm_copy_code(vm, code, code_size) < 0)
        return -1;
    return raw_vm_add_vcpu(vm, entry_offset, count, port_io, valid_regs);
}

int raw_vm_run_ucalls(struct raw_vm *vm, uint64_t exits) {
    struct kvm_run *run = vm->run;
    for (uint64_t done = 0; done < exits;) {
        if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return fail("KVM_RUN");
        }
        int is_ucall = vm->port_io ? run->exit_reason == KVM_EXIT_IO && run->io.port == UCALL_PIO_PORT
                                   : run->exit_reason == KVM_EXIT_MMIO && run->mmio.phys_addr == vm->ucall_address;
        if (!is_ucall) {
            snprintf(last_error, sizeof(last_error), "exit %u after %llu ucalls is not a ucall", run->exit_reason,
                     (unsigned long long)done);
            return -1;
        }
        done++;
    }
    return 0;
}

/// Copies `size` bytes at guest-physical `gpa` to `out`; returns 0 if they are not all inside guest RAM.
static inline int read_guest(const struct raw_vm *vm, uint64_t gpa, void *out, uint64_t size) {
    if (gpa > vm->memory_size || size > vm->memory_size - gpa)
        return 0;
    memcpy(out, vm->memory + gpa, size);
    return 1;
}

/// Translates `gva` through the 4-level tables at `cr3` (4 KiB pages only, which is all this baseline maps).
static inline int translate(const struct raw_vm *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa) {
    uint64_t table = cr3 & 0x000ffffffffff000ULL;
    for (int level = 4; level >= 1; level--) {
        uint64_t entry;
        if (!read_guest(vm, table + ((gva >> (12 + 9 * (level - 1))) & 0x1ff) * 8, &entry, 8) || !(entry & PTE_PRESENT))
            return 0;
        table = entry & 0x000ffffffffff000ULL;
    }
    *gpa = table | (gva & 0xfff);
    return 1;
}

int raw_vm_run_ucalls_decoding(struct raw_vm *vm, uint64_t exits, uint64_t *checksum) {
    struct kvm_run *run = vm->run;
    uint64_t sum = 0;
    for (uint64_t done = 0; done < exits;) {
        if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return fail("KVM_RUN");
        }
        uint64_t gva = 0, gpa, words[8];
        int is_ucall = 0;
        if (vm->port_io && run->exit_reason == KVM_EXIT_IO && run->io.port == UCALL_PIO_PORT) {
            gva = run->s.regs.regs.rdi;
            is_ucall = 1;
        } else if (!vm->port_io && run->exit_reason == KVM_EXIT_MMIO && run->mmio.phys_addr == vm->ucall_address) {
            memcpy(&gva, run->mmio.data, 8);
            is_ucall = 1;
        }
        // The benchmark's struct never straddles a page, so one translation is enough here.
        if (!is_ucall || (gva & 0xfff) > 0x1000 - 64 || !translate(vm, run->s.regs.sregs.cr3, gva, &gpa) ||
            !read_guest(vm, gpa, words, 64) || (words[0] != 1 && words[0] != 4)) {
            snprintf(last_error, sizeof(last_error), "exit %u after %llu ucalls is not a readable ucall",
                     run->exit_reason, (unsigned long long)done);
            return -1;
        }
        sum += words[1];
        done++;
    }
    *checksum = sum;
    return 0;
}

uint64_t raw_vm_ucall_address(const struct raw_vm *vm) { return vm->ucall_address; }

uint64_t raw_vm_memslot_nanoseconds(const struct raw_vm *vm) { return vm->memslot_nanoseconds; }

void raw_vm_destroy(struct raw_vm *vm) {
    if (!vm)
        return;
    if (vm->run)
        munmap(vm->run, run_size);
    if (vm->vcpu_fd >= 0)
        close(vm->vcpu_fd);
    close(vm->vm_fd);
    if (vm->memory)
        munmap(vm->memory, vm->memory_size);
    free(vm);
}
