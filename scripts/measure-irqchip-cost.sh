#!/usr/bin/env bash
# What an in-kernel interrupt controller adds to making a VM: KVM_CREATE_VM, then nothing, KVM_CREATE_IRQCHIP or
# KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP, 24), then KVM_CREATE_VCPU, COUNT times each (default 50), in C so that
# nothing of the harness is in the figure. Prints the mean and the best per VM. Needs /dev/kvm and cc.
#
#   bash scripts/measure-irqchip-cost.sh [COUNT]
set -euo pipefail
count="${1:-50}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/irqchip_cost.c" <<'C'
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int count = atoi(argv[1]);
    int kvm = open("/dev/kvm", O_RDWR);
    if (kvm < 0) { perror("/dev/kvm"); return 1; }
    const char *names[] = {"none", "full (KVM_CREATE_IRQCHIP)", "split (KVM_CAP_SPLIT_IRQCHIP)"};
    for (int kind = 0; kind < 3; kind++) {
        double best = 1e9, sum = 0;
        for (int i = 0; i < count; i++) {
            double start = now();
            int vm = ioctl(kvm, KVM_CREATE_VM, 0);
            if (vm < 0) { perror("KVM_CREATE_VM"); return 1; }
            if (kind == 1 && ioctl(vm, KVM_CREATE_IRQCHIP, 0)) { perror("KVM_CREATE_IRQCHIP"); return 1; }
            struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
            if (kind == 2 && ioctl(vm, KVM_ENABLE_CAP, &cap)) { perror("KVM_CAP_SPLIT_IRQCHIP"); return 1; }
            int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
            if (vcpu < 0) { perror("KVM_CREATE_VCPU"); return 1; }
            close(vcpu);
            close(vm);
            double elapsed = now() - start;
            sum += elapsed;
            if (elapsed < best) best = elapsed;
        }
        printf("%-32s mean %8.1f us  best %8.1f us  (%d VMs)\n", names[kind], sum / count * 1e6, best * 1e6, count);
    }
    return 0;
}
C
cc -O2 -o "$dir/irqchip_cost" "$dir/irqchip_cost.c"
"$dir/irqchip_cost" "$count"
