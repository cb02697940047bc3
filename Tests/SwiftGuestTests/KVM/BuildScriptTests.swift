import Foundation
import KVMHarness
import KVMHarnessTesting
import Testing

// scripts/build-swift-guest.sh, the build outside SwiftPM that the plugin also runs: the Hello example built by
// it runs on real KVM, and a toolchain without Embedded Swift gets a one-line reason.

/// The package root: this file is Tests/SwiftGuestTests/KVM/BuildScriptTests.swift.
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// Runs the build script with `arguments` (and `environment` added); returns its status and standard error.
private func runBuildScript(_ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, stderr: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [packageRoot.appendingPathComponent("scripts/build-swift-guest.sh").path] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let data = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("scripts/build-swift-guest.sh")
struct BuildScriptTests {
    @Test("builds Examples/SwiftGuests/Hello outside SwiftPM, and two vCPUs run it to DONE", .requiresKVM)
    func helloExample() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swift-guest-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("hello.elf").path
        let result = try runBuildScript([image, packageRoot.appendingPathComponent("Examples/SwiftGuests/Hello").path])
        try #require(result.status == 0, "build-swift-guest.sh failed: \(result.stderr)")
        // The script's image gets the same scan as the plugin's (GuestImageScanTests).
        let instructions = try disassembledInstructions(image)
        #expect(instructions.count > 1000)
        #expect(instructions.compactMap(unsupportedState(ofDisassembledLine:)).isEmpty)
        let vm = try VirtualMachine(imagePath: image, vcpus: 2)
        let report = await vm.run()
        for vcpu in 0..<2 {
            #expect(report.vcpus[vcpu].ucalls == [
                .sync(stage: 1, 6, 72),
                .printf("hello from vCPU \(vcpu): 6 primes above 4, sum 72, 0x48"),
                .done,
            ])
        }
    }

    @Test("a toolchain without Embedded Swift's standard library is refused in one line that says what to do")
    func noEmbeddedStandardLibrary() throws {
        // A fake toolchain: swiftc, clang and ld.lld exist (and would fail), lib/swift/embedded does not.
        let toolchain = FileManager.default.temporaryDirectory.appendingPathComponent("fake-toolchain-\(getpid())")
        defer { try? FileManager.default.removeItem(at: toolchain) }
        let bin = toolchain.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        for tool in ["swiftc", "clang", "ld.lld"] {
            let path = bin.appendingPathComponent(tool).path
            try #require(FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\nexit 1\n".utf8)))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        let result = try runBuildScript(
            [toolchain.appendingPathComponent("out/Guest.elf").path, packageRoot.path],
            environment: ["KVMH_SWIFT_BIN": bin.path])
        #expect(result.status == 1)
        #expect(result.stderr == "build-swift-guest.sh: this toolchain has no Embedded Swift standard library for "
            + "x86_64-unknown-none-elf (\(bin.path)/../lib/swift/embedded/x86_64-unknown-none-elf): use a swift.org "
            + "toolchain (6.1 or later) for Linux, or set KVMH_SWIFT_BIN to one\n")
    }
}
