// swift-tools-version: 6.1
//
// KVMHarness: write, run and debug KVM guest selftests from Swift.
//
// Layout (each target is a folder under Sources/):
//   CKVM               C shim over <linux/kvm.h>: ioctl wrappers, request constants, layout asserts. No logic.
//   KVMHarnessStubs    The harness's own guest code (exception entry stubs, return trampoline), copied into every VM.
//   KVMHarness         Host library: /dev/kvm, VMs, vCPUs, x86-64 long mode, page tables, ucall decoding, runner.
//   KVMHarnessGuest    Guest runtime (C): struct ucall, GUEST_SYNC/DONE/ASSERT/PRINTF, freestanding helpers.
//   KVMHarnessTesting  XCTest and Swift Testing helpers that turn guest failures into test failures.
//   kvm-harness        The command-line tool (argument parsing only; the logic lives in KVMHarness).
import PackageDescription

let package = Package(
    name: "KVMHarness",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "KVMHarness", targets: ["KVMHarness"]),
        .library(name: "KVMHarnessGuest", targets: ["KVMHarnessGuest"]),
        .library(name: "KVMHarnessTesting", targets: ["KVMHarnessTesting"]),
        .executable(name: "kvm-harness", targets: ["kvm-harness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .target(name: "CKVM"),
        .target(name: "KVMHarnessStubs"),
        .target(
            name: "KVMHarness",
            dependencies: [
                "CKVM",
                "KVMHarnessStubs",
                "KVMHarnessGuest",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(name: "KVMHarnessGuest"),
        .target(name: "KVMHarnessTesting", dependencies: ["KVMHarness"]),
        .executableTarget(
            name: "kvm-harness",
            dependencies: [
                "KVMHarness",
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
            dependencies: ["KVMHarness", "KVMHarnessTesting", "KVMHarnessGuest", "TestGuests", "CKVM"]
        ),
        // The kvm-harness CLI end to end (the built executable on example images) and its pure formatting.
        // Depending on the executable makes `swift test` build it before the tests look for it.
        .testTarget(
            name: "CLITests",
            dependencies: ["KVMHarness", "KVMHarnessTesting", "kvm-harness"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
