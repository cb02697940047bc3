// swift-tools-version: 6.1
//
// KVMHarness: write, run and debug KVM guest selftests from Swift.
//
// Linux only: KVM is a Linux interface, so the package names no Apple platform.
//
// Layout (each target is a folder under Sources/):
//   CLinuxKVM           The kernel's KVM ABI (<linux/kvm.h> structs and constants, fallbacks for newer ones).
//                       KVMHarness re-exports it, so `import KVMHarness` names `kvm_regs` and friends.
//   CKVM                C shim, internal: ioctl wrappers, request numbers, kvm_run accessors. No logic.
//   KVMHarnessStubs     The harness's own guest code (exception entry stubs, return trampoline), copied into VMs.
//   KVMHarness          Host library: /dev/kvm, VMs, vCPUs, x86-64 long mode, page tables, ucall decoding, runner.
//   KVMHarnessGuest     Guest runtime (C): struct ucall, GUEST_SYNC/DONE/ASSERT/PRINTF, freestanding helpers.
//   KVMHarnessTesting   XCTest and Swift Testing helpers that turn guest failures into test failures.
//   KVMHarnessReporting What only the CLI needs: run events, their JSON and text forms, exit statuses, the exit
//                       reference, the host probe, image runs. Not a product.
//   kvm-harness         The command-line tool (argument parsing only).
import PackageDescription

let package = Package(
    name: "KVMHarness",
    products: [
        .library(name: "KVMHarness", targets: ["KVMHarness"]),
        .library(name: "KVMHarnessGuest", targets: ["KVMHarnessGuest"]),
        .library(name: "KVMHarnessTesting", targets: ["KVMHarnessTesting"]),
        .executable(name: "kvm-harness", targets: ["kvm-harness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        // `swift package generate-documentation` (scripts/docs.sh); a plugin, so dependents build none of it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .target(name: "CLinuxKVM"),
        .target(name: "CKVM", dependencies: ["CLinuxKVM"]),
        .target(name: "KVMHarnessStubs"),
        .target(
            name: "KVMHarness",
            dependencies: [
                "CLinuxKVM",
                "CKVM",
                "KVMHarnessStubs",
                "KVMHarnessGuest",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The guest runtime includes the harness layout (kvmh_layout.h) for the `_safe` instructions' fixup protocol.
        .target(name: "KVMHarnessGuest", dependencies: ["KVMHarnessStubs"]),
        .target(name: "KVMHarnessTesting", dependencies: ["KVMHarness"]),
        .target(name: "KVMHarnessReporting", dependencies: ["KVMHarness", "CKVM"]),
        .executableTarget(
            name: "kvm-harness",
            dependencies: [
                "KVMHarness",
                "KVMHarnessReporting",
                "DemoGuest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The demo's guest code: C linked into the CLI, as guest tests link theirs.
        .target(name: "DemoGuest", dependencies: ["KVMHarnessGuest"], path: "Examples/DemoGuest"),

        // Guest C code used by the tests, linked into the test binary (the kernel selftest model).
        .target(name: "TestGuests", dependencies: ["KVMHarnessGuest"], path: "Tests/TestGuests"),
        .testTarget(
            name: "KVMHarnessTests",
            dependencies: [
                "KVMHarness", "KVMHarnessTesting", "KVMHarnessGuest", "TestGuests", "CKVM", "KVMHarnessStubs",
            ]
        ),
        // The kvm-harness CLI end to end (the built executable on example images) and its pure formatting.
        // Depending on the executable makes `swift test` build it before the tests look for it.
        .testTarget(
            name: "CLITests",
            dependencies: ["KVMHarness", "KVMHarnessReporting", "KVMHarnessTesting", "KVMHarnessStubs", "kvm-harness"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
