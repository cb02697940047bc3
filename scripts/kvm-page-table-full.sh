#!/usr/bin/env bash
# The kvm_page_table_test port with the C test's parameters (1 vCPU, 1 GiB), too long for the test suite; it runs
# both backings (anonymous, the C test's default, and transparent huge pages).
# Usage: scripts/kvm-page-table-full.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
KVMH_PAGE_TABLE_VCPUS=1 KVMH_PAGE_TABLE_MB=1024 swift test --filter KVMPageTableTests "$@"
