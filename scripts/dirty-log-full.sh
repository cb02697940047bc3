#!/usr/bin/env bash
# The dirty_log_test port with the C test's parameters (1 GiB + 3 pages, 32 iterations, a 65536-entry ring), too
# long for the test suite. Usage: scripts/dirty-log-full.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
KVMH_DIRTY_LOG_PAGES=$(( (1 << 18) + 3 )) KVMH_DIRTY_LOG_ITERATIONS=32 KVMH_DIRTY_LOG_RING=65536 \
    swift test --filter DirtyLogTests "$@"
