#!/usr/bin/env bash
# Checks KVMHarness the way a real dependent package uses it: a scratch package that depends on a clone of this
# repository *by version* (file:// URL, tag 99.0.0; never by path) and must work with `import KVMHarness` alone.
#
# Usage: scripts/check-dependent-package.sh [--worktree] [--keep]
#   (default)   check the committed HEAD (only committed work is tested)
#   --worktree  check the working tree as it is now (tracked changes, deletions, and untracked files that are not
#               ignored), committed inside the temporary clone only, so a change can be checked before committing
#   --keep      keep the temporary directory (printed at the end) to look at the scratch packages and logs
#
# Checks, each printed as one PASS/FAIL/SKIP line:
#   resolve      the dependent resolves KVMHarness by version: Package.resolved pins the tag at the clone's HEAD
#   ckvm-hidden  a package that asks for the internal C shim (.product(name: "CKVM", ...) + `import CKVM`) fails
#                to resolve, and for that reason: KVMHarness has no product CKVM, so no dependent can depend on it.
#                (This is what SwiftPM enforces. A target that depends on product KVMHarness can still write
#                `import CKVM` and compile, because SwiftPM hands dependents the module maps of every C target
#                below them; no package can prevent that, so it is not checked.)
#   guest-c      a C target of the dependent, on product KVMHarnessGuest, builds guest code
#                (GUEST_CODE_BEGIN/GUEST_SYNC_ARGS/GUEST_DONE/GUEST_CODE_END)
#   c-types      a Swift target with `import KVMHarness` and no other import names the KVM C structs that the public
#                API returns (kvm_sregs, kvm_regs, kvm_cpuid_entry2); on failure the compiler's errors are shown
#   kvm-test     `swift build --build-tests`, then `swift test` runs a Swift Testing test (KVMHarnessTesting,
#                `@Test(.requiresKVM)`) that runs the C guest in a VM with `expectRun(ucalls:)`. Where /dev/kvm exists
#                KVMHARNESS_REQUIRE_KVM=1 is set and the test must run and pass; without /dev/kvm it is SKIP.
#                If c-types failed, this still runs, on the dependent without that target, so one run reports
#                everything (the script fails either way).
#
# Only what the dependent needs is built (KVMHarness, KVMHarnessGuest, KVMHarnessTesting and swift-system; not the
# kvm-harness tool nor swift-argument-parser), debug without debug info, with every scratch path, checkout and
# manifest cache inside the temporary directory; the negative package resolves while the dependent does.
# Exits 0 when every check passes (SKIP included), 1 when one fails (the last line names the failed checks and the
# first failure), 2 on bad usage.
set -euo pipefail

me=check-dependent-package.sh
mode=head
keep=0
for arg in "$@"; do
    case "$arg" in
        --worktree) mode=worktree ;;
        --keep) keep=1 ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "$me: unknown argument '$arg' (usage: $me [--worktree] [--keep])" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && git rev-parse --show-toplevel)
cd "$root"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmharness-dependent.XXXXXX")
negative_pid=''
cleanup() {
    if [ -n "$negative_pid" ]; then wait "$negative_pid" 2>/dev/null || true; fi
    if [ "$keep" = 1 ]; then echo "$me: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

version=99.0.0
clone=$tmp/KVMHarness
dependent=$tmp/Dependent
negative=$tmp/NoCKVM
# Scratch paths, dependency checkouts and manifest caches all stay in $tmp: nothing from a run outlives it. No debug
# info: nothing here is debugged, and it is build time saved on every CI run.
swiftpm_flags=(--disable-dependency-cache --manifest-cache local -debug-info-format none)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
script_start=$(now)
timings=()
failed=()
first_failure=''

# verdict STATUS CHECK DETAIL
verdict() {
    printf '%s: %-4s %-11s %s\n' "$me" "$1" "$2" "$3"
    if [ "$1" = FAIL ]; then failed+=("$2"); first_failure=${first_failure:-"$2: $3"}; fi
}

timing() { timings+=("$(printf '%-38s %s' "$1" "$2")"); }

# Runs a command with its output in a log file; records its time under a phase name. Returns the command's status.
# phase NAME LOG COMMAND...
phase() {
    local name=$1 log=$2 start status=0
    shift 2
    start=$(now)
    "$@" >"$log" 2>&1 || status=$?
    timing "$name" "$(since "$start")"
    return "$status"
}

# The first compiler/SwiftPM errors in a log, with $tmp shortened, indented.
show_errors() {
    { grep -E '^[^ ].*(error|fatal error): ' "$1" || tail -n 15 "$1"; } | awk '!seen[$0]++' | head -n 12 |
        sed -e "s|$tmp/||g" -e 's/^/    /'
}

first_error() {
    { grep -m1 -E '^[^ ].*error: ' "$1" || tail -n 1 "$1"; } | sed -e "s|$tmp/||g" -e 's/^[[:space:]]*//'
}

# --- The clone of KVMHarness, tagged -------------------------------------------------------------------------------

start=$(now)
git clone --quiet "$root" "$clone"
if [ "$mode" = worktree ]; then
    # The clone's files become the working tree's: tracked files as they are now (deleted ones stay deleted) and
    # untracked files that .gitignore does not exclude.
    git -C "$clone" rm -r --quiet -- . >/dev/null
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' file; do
            if [ -e "$file" ] || [ -L "$file" ]; then printf '%s\0' "$file"; fi
        done | tar --null -T - -cf - | tar -C "$clone" -xf -
    git -C "$clone" add -A
    git -C "$clone" -c user.name="$me" -c user.email="$me@localhost" commit --quiet --allow-empty --no-verify \
        -m "$me: the working tree on $(git rev-parse --short HEAD)"
    what="the working tree (on $(git rev-parse --short HEAD))"
else
    what="HEAD $(git rev-parse --short HEAD)"
fi
git -C "$clone" tag -f "$version" >/dev/null
revision=$(git -C "$clone" rev-parse HEAD)
timing "clone + tag $version" "$(since "$start")"
echo "$me: checking $what as KVMHarness $version (file://$clone)"

# --- The dependent package -----------------------------------------------------------------------------------------

mkdir -p "$dependent/Sources/DependentAPI" "$dependent/Sources/DependentGuests/include" "$dependent/Tests/DependentTests"

# write_dependent_manifest with-api|without-api
write_dependent_manifest() {
    local api_target=''
    if [ "$1" = with-api ]; then
        api_target='
        // `import KVMHarness` only: the KVM C types in its public API must be nameable through it.
        .target(name: "DependentAPI", dependencies: [.product(name: "KVMHarness", package: "KVMHarness")]),'
    fi
    cat >"$dependent/Package.swift" <<EOF
// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Dependent",
    dependencies: [
        // By version, as a real dependent does; a path dependency would hide what only versioned ones see.
        .package(url: "file://$clone", from: "$version"),
    ],
    targets: [$api_target
        .target(name: "DependentGuests", dependencies: [.product(name: "KVMHarnessGuest", package: "KVMHarness")]),
        .testTarget(
            name: "DependentTests",
            dependencies: ["DependentGuests", .product(name: "KVMHarnessTesting", package: "KVMHarness")]
        ),
    ]
)
EOF
}
write_dependent_manifest with-api

cat >"$dependent/Sources/DependentAPI/API.swift" <<'EOF'
// The KVM C structs of KVMHarness's public API, named with `import KVMHarness` and nothing else.
import KVMHarness

/// A vCPU's special registers, as KVM_GET_SREGS fills them.
public func specialRegisters(of vcpu: VCPU) throws -> kvm_sregs {
    let sregs: kvm_sregs = try vcpu.specialRegisters()
    return sregs
}

/// The instruction pointer of a register set (a zeroed one by default).
public func instructionPointer(of regs: kvm_regs = kvm_regs()) -> UInt64 {
    regs.rip
}

/// The CPUID entries this host's KVM supports.
public func supportedCPUIDEntries() throws -> [kvm_cpuid_entry2] {
    let entries: [kvm_cpuid_entry2] = try KVM.shared().supportedCPUID.entries
    return entries
}
EOF

cat >"$dependent/Sources/DependentGuests/include/DependentGuests.h" <<'EOF'
#ifndef DEPENDENT_GUESTS_H
#define DEPENDENT_GUESTS_H

#include <stdint.h>

/// SYNC(1, a, b), SYNC(2, a + b), DONE.
void dependent_guest_stages(uint64_t a, uint64_t b);

#endif
EOF

cat >"$dependent/Sources/DependentGuests/guests.c" <<'EOF'
// Guest code of a dependent package: runs inside a VM and may only use the guest runtime.
#include "KVMHarnessGuest.h"
#include "DependentGuests.h"

GUEST_CODE_BEGIN

void dependent_guest_stages(uint64_t a, uint64_t b) {
    GUEST_SYNC_ARGS(1, a, b);
    GUEST_SYNC_ARGS(2, a + b);
    GUEST_DONE();
}

GUEST_CODE_END
EOF

cat >"$dependent/Tests/DependentTests/DependentTests.swift" <<'EOF'
import DependentGuests
import KVMHarnessTesting
import Testing

@Test(.requiresKVM) func dependentGuestRuns() async throws {
    let vm = try VirtualMachine(entry: GuestFunction(dependent_guest_stages), arguments: [100, 23])
    await vm.expectRun(ucalls: [.sync(stage: 1, 100, 23), .sync(stage: 2, 123), .done])
}
EOF

# The negative package: asks for the internal C shim by name.
mkdir -p "$negative/Sources/UsesCKVM"
cat >"$negative/Package.swift" <<EOF
// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "NoCKVM",
    dependencies: [.package(url: "file://$clone", from: "$version")],
    targets: [
        .target(name: "UsesCKVM", dependencies: [.product(name: "CKVM", package: "KVMHarness")]),
    ]
)
EOF
cat >"$negative/Sources/UsesCKVM/UsesCKVM.swift" <<'EOF'
import CKVM

public let apiVersion = KVM_API_VERSION
EOF

in_dependent() { (cd "$dependent" && "$@"); }
dep=(--scratch-path "$tmp/build-dependent" "${swiftpm_flags[@]}")

# The negative package resolves in the background while the dependent does (both mostly wait on git and manifests).
(
    start=$(now)
    status=0
    cd "$negative" &&
        swift build --scratch-path "$tmp/build-nockvm" "${swiftpm_flags[@]}" --target UsesCKVM \
            >"$tmp/ckvm-hidden.log" 2>&1 || status=$?
    echo "$status" >"$tmp/ckvm-hidden.status"
    since "$start" >"$tmp/ckvm-hidden.time"
) &
negative_pid=$!

# --- resolve -------------------------------------------------------------------------------------------------------

log=$tmp/resolve.log
if ! phase "resolve (dependent)" "$log" in_dependent swift package "${dep[@]}" resolve; then
    verdict FAIL resolve "swift package resolve failed: $(first_error "$log")"
    show_errors "$log"
    echo "$me: FAILED: the dependent package cannot resolve KVMHarness $version, nothing else can be checked" >&2
    exit 1
fi
pin=$(awk '/"identity" : "kvmharness"/ { on = 1 } on && /"(version|revision)"/ { print } on && /^ *}/ { exit }' \
    "$dependent/Package.resolved" | tr -d ' ",' | sort | tr '\n' ' ')
if [ "$pin" = "revision:$revision version:$version " ]; then
    verdict PASS resolve "KVMHarness pinned by version $version at ${revision:0:12} (file:// URL, not a path)"
else
    verdict FAIL resolve "Package.resolved does not pin KVMHarness at version $version, ${revision:0:12}: '$pin'"
fi

# --- ckvm-hidden ---------------------------------------------------------------------------------------------------

log=$tmp/ckvm-hidden.log
wait "$negative_pid" || true
negative_pid=''
status=$(cat "$tmp/ckvm-hidden.status")
timing "ckvm-hidden (alongside resolve)" "$(cat "$tmp/ckvm-hidden.time")"
if [ "$status" = 0 ]; then
    verdict FAIL ckvm-hidden "a dependent built against the internal C target: .product(name: \"CKVM\") + import CKVM resolved"
elif grep -qiE "product '?CKVM'? .*not found" "$log"; then
    verdict PASS ckvm-hidden "a dependent cannot name CKVM: $(first_error "$log")"
else
    verdict FAIL ckvm-hidden "the negative package failed, but not because CKVM is not a product: $(first_error "$log")"
    show_errors "$log"
fi

# --- guest-c -------------------------------------------------------------------------------------------------------

log=$tmp/guest-c.log
if phase "guest-c (build DependentGuests)" "$log" in_dependent swift build "${dep[@]}" --target DependentGuests; then
    verdict PASS guest-c "C guest target on product KVMHarnessGuest builds"
else
    verdict FAIL guest-c "the dependent's C guest target does not build: $(first_error "$log")"
    show_errors "$log"
fi

# --- c-types -------------------------------------------------------------------------------------------------------

log=$tmp/c-types.log
if phase "c-types (build DependentAPI)" "$log" in_dependent swift build "${dep[@]}" --target DependentAPI; then
    verdict PASS c-types "kvm_sregs, kvm_regs, [kvm_cpuid_entry2] named with import KVMHarness alone"
    api=with-api
else
    verdict FAIL c-types "with import KVMHarness alone: $(first_error "$log")"
    show_errors "$log"
    api=without-api
fi

# --- kvm-test ------------------------------------------------------------------------------------------------------

note=''
if [ "$api" = without-api ]; then
    # Still build and run the test, on the dependent without the target that failed, so this run reports it.
    write_dependent_manifest without-api
    note=' (built without DependentAPI, which failed above)'
fi
if [ -e /dev/kvm ]; then export KVMHARNESS_REQUIRE_KVM=1; fi
log=$tmp/kvm-test-build.log
if ! phase "kvm-test: swift build --build-tests" "$log" in_dependent swift build "${dep[@]}" --build-tests; then
    verdict FAIL kvm-test "swift build --build-tests failed$note: $(first_error "$log")"
    show_errors "$log"
else
    log=$tmp/kvm-test.log
    status=0
    phase "kvm-test: swift test" "$log" in_dependent swift test "${dep[@]}" --skip-build || status=$?
    if [ "$status" != 0 ]; then
        verdict FAIL kvm-test "swift test exited with $status$note: $(grep -m1 -E '✘|error|failed' "$log" || tail -n 1 "$log")"
        grep -E '✘|error|failed|Expectation|Issue' "$log" | head -n 12 | sed 's/^/    /'
    elif grep -qE 'Test dependentGuestRuns\(\) skipped' "$log"; then
        if [ -e /dev/kvm ]; then
            verdict FAIL kvm-test "the KVM test skipped although /dev/kvm exists$note"
        else
            verdict SKIP kvm-test "built; the KVM test skipped: no /dev/kvm$note"
        fi
    elif grep -qE 'Test dependentGuestRuns\(\) passed' "$log"; then
        verdict PASS kvm-test "@Test(.requiresKVM) ran the dependent's C guest in a VM: SYNC 1, SYNC 2, DONE$note"
    else
        verdict FAIL kvm-test "swift test passed but did not report dependentGuestRuns() as passed$note"
        tail -n 5 "$log" | sed 's/^/    /'
    fi
fi

# --- verdict -------------------------------------------------------------------------------------------------------

timing total "$(since "$script_start")"
echo "$me: times:"
printf '    %s\n' "${timings[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "$me: FAILED ($(IFS=,; echo "${failed[*]}")): $first_failure" >&2
    exit 1
fi
echo "$me: all checks passed: a package depending on KVMHarness $version works with import KVMHarness alone"
