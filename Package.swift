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
//   SwiftGuestImages    Build-tool plugin: each Guests/<Name>/ folder of a target becomes a stand-alone guest image
//                       <Name>.elf in Embedded Swift (scripts/build-swift-guest.sh), a resource of the target. The
//                       Swift guest library and its C runtime (SwiftGuest/) are built by that script, not by
//                       SwiftPM: Embedded Swift needs flags no library product may carry.
import PackageDescription

let package = Package(
    name: "KVMHarness",
    products: [
        .library(name: "KVMHarness", targets: ["KVMHarness"]),
        .library(name: "KVMHarnessGuest", targets: ["KVMHarnessGuest"]),
        .library(name: "KVMHarnessTesting", targets: ["KVMHarnessTesting"]),
        .executable(name: "kvm-harness", targets: ["kvm-harness"]),
        .plugin(name: "SwiftGuestImages", targets: ["SwiftGuestImages"]),
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
        // The arm64 guest tests: an executable run on an arm64 KVM host (scripts/arm64.sh runs it in an emulated
        // one), with its guest C code. Elsewhere it only says where it runs.
        .target(name: "ARM64TestGuests", dependencies: ["KVMHarnessGuest"], path: "Tests/ARM64TestGuests"),
        .executableTarget(
            name: "kvm-harness-arm64-tests", dependencies: ["KVMHarness", "ARM64TestGuests"], path: "Tests/ARM64Tests"),
        // The kvm-harness CLI end to end (the built executable on example images) and its pure formatting.
        // Depending on the executable makes `swift test` build it before the tests look for it.
        .testTarget(
            name: "CLITests",
            dependencies: ["KVMHarness", "KVMHarnessReporting", "KVMHarnessTesting", "KVMHarnessStubs", "kvm-harness"]
        ),

        // Guest code in Embedded Swift: the plugin, the host build of the guest library's message formatter (for
        // its unit tests), and the tests that run the plugin's images on real KVM.
        .plugin(name: "SwiftGuestImages", capability: .buildTool()),
        .target(
            name: "SwiftGuestMessage", path: "SwiftGuest/Library",
            exclude: ["Assert.swift", "Exceptions.swift", "Ucall.swift"], sources: ["GuestMessage.swift"]
        ),
        .testTarget(
            name: "SwiftGuestTests",
            dependencies: ["KVMHarness", "KVMHarnessTesting", "SwiftGuestMessage", "SwiftGuestSoftFloat"],
            // Guest-only sources, built by the plugin; Guests/Workload/Workload.swift is built for both.
            exclude: ["Guests/Sync", "Guests/Scenarios", "Guests/Workload/main.swift"],
            plugins: ["SwiftGuestImages"]
        ),
        // The guest runtime's soft-float routines built for the host, where the unit tests check them against the
        // FPU.
        .target(name: "SwiftGuestSoftFloat", path: "SwiftGuest/SoftFloat"),
    ],
    swiftLanguageModes: [.v6]
)
