// swift-tools-version: 6.1
//
// libFuzzer targets for KVMHarness's parsers of hostile input (scripts/fuzz.sh builds and runs them). A separate
// package so that the sanitizer flags never reach the library products: scripts/fuzz.sh passes
// -sanitize=fuzzer,address to this build only. The targets use the library's `package` API through
// `@testable import`, which a debug build allows.
import PackageDescription

let package = Package(
    name: "KVMHarnessFuzz",
    dependencies: [.package(name: "KVMHarness", path: "..")],
    targets: [
        // The ucall decoder and the page walk over arbitrary guest memory and page tables.
        .executableTarget(
            name: "FuzzUcallDecoder", dependencies: [.product(name: "KVMHarness", package: "KVMHarness")]),
        // The ELF guest-image parser and the loader's placement checks (fit in guest RAM included).
        .executableTarget(
            name: "FuzzImageLoader", dependencies: [.product(name: "KVMHarness", package: "KVMHarness")]),
    ],
    swiftLanguageModes: [.v6]
)
