#!/usr/bin/env bash
# The max_guest_memory_test port with the C test's parameters on this host (128 GiB of guest memory in 2 GiB slots
# over one 2 GiB buffer, three quarters of the CPUs as vCPUs, a write to every 4 KiB page), too long for the test
# suite. Prints the time of each pass. Usage: scripts/max-guest-memory-full.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
KVMH_MAX_MEMORY_VCPUS=$(( $(nproc) * 3 / 4 > 0 ? $(nproc) * 3 / 4 : 1 )) KVMH_MAX_MEMORY_GB=128 \
    KVMH_MAX_MEMORY_SLOT_GB=2 KVMH_MAX_MEMORY_STRIDE=4096 swift test --filter MaxGuestMemoryTests "$@"
