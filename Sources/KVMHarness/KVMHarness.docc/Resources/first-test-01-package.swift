// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "MySelftests",
    dependencies: [
        // A checkout of KVMHarness next to this package.
        .package(path: "../KVMHarness"),
    ],
    targets: [
        // Guest code: C that runs inside the VMs, linked into the test binary.
        .target(
            name: "MyGuests",
            dependencies: [.product(name: "KVMHarnessGuest", package: "KVMHarness")],
            path: "Tests/MyGuests"
        ),
        // The tests that make the VMs and check what the guest sends.
        .testTarget(
            name: "GuestTests",
            dependencies: [
                "MyGuests",
                .product(name: "KVMHarnessTesting", package: "KVMHarness"),
            ]
        ),
    ]
)
