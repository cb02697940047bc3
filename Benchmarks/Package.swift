// swift-tools-version: 6.1
//
// KVMHarness benchmarks: a package of its own, so that the main package's `swift test` never builds benchmark
// dependencies. Run everything with `bash scripts/bench.sh` (or `--smoke` for a seconds-long check); see
// BENCHMARKS.md.
//
// Targets (each a folder under Sources/):
//   BenchmarkGuests                 Guest code: the hand-written ucall loops (assembly, position independent) that
//                                   the library and the raw C baseline both run, and a GUEST_SYNC loop in C on the
//                                   project's guest runtime.
//   RawKVM                          The baseline: a bare-ioctl C implementation of the same steps (VM, long mode,
//                                   KVM_RUN loop), with no harness code.
//   BenchmarkSupport                What both benchmark executables share: the guest entry points and the loops
//                                   that drive the library.
//   kvm-harness-bench               The benchmark: runs every measurement, prints the table, writes JSON.
//   kvm-harness-bench-allocations   Counts heap allocations per ucall (linked with malloc-interposer, so it runs
//                                   as a child process and the interposer never sits under a timing).
import PackageDescription

let package = Package(
    name: "KVMHarnessBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "KVMHarness", path: ".."),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        .target(
            name: "BenchmarkGuests",
            dependencies: [.product(name: "KVMHarnessGuest", package: "KVMHarness")],
            cSettings: [
                // Guest code: optimized, general-purpose registers only and no red zone, as the guest images are
                // built (scripts/build-guest-images.sh). Under a software-virtualized KVM (kvm_pvm) CPL0 code runs
                // in KVM's instruction emulator, which has no SSE; an exception handler may push below RSP.
                .unsafeFlags(["-O2", "-mgeneral-regs-only", "-mno-red-zone", "-fno-stack-protector"])
            ]
        ),
        .target(name: "RawKVM", cSettings: [.unsafeFlags(["-O2"])]),
        .target(
            name: "BenchmarkSupport",
            dependencies: ["BenchmarkGuests", .product(name: "KVMHarness", package: "KVMHarness")]
        ),
        .executableTarget(
            name: "kvm-harness-bench",
            dependencies: [
                "BenchmarkSupport", "BenchmarkGuests", "RawKVM",
                .product(name: "KVMHarness", package: "KVMHarness"),
            ]
        ),
        .executableTarget(
            name: "kvm-harness-bench-allocations",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "KVMHarness", package: "KVMHarness"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
