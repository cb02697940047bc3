import Foundation
import PackagePlugin

/// Builds each guest folder of a target, `<target>/Guests/<Name>/*.swift`, into a stand-alone guest image
/// `<Name>.elf` with Embedded Swift, and makes the images resources of the target: a test finds one with
/// `Bundle.module.path(forResource: "Name", ofType: "elf")`.
///
/// Each image is one build command that runs `scripts/build-swift-guest.sh` from the KVMHarness package, so the
/// plugin and the script build the same thing; SwiftPM reruns it when a guest source, the Swift guest library, its
/// C runtime or the script changes. The target must exclude its `Guests` folder (or the guest-only files in it)
/// from its own sources, which are built for the host.
///
/// Where the plugin cannot build (a toolchain without Embedded Swift's standard library for
/// `x86_64-unknown-none-elf`, or a host other than Linux), the build of the target fails with the script's
/// one-line reason; nothing is skipped silently.
@main
struct SwiftGuestImages: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let guests = target.directoryURL.appending(path: "Guests")
        let names = try Self.entries(of: guests, directories: true)
        guard !names.isEmpty else {
            Diagnostics.warning("SwiftGuestImages: \(target.name) has no guest folders in \(guests.path()): add "
                + "Guests/<Name>/main.swift, or remove the plugin from the target")
            return []
        }
        // The KVMHarness package's root: this file is <root>/Plugins/SwiftGuestImages/SwiftGuestImages.swift,
        // whether KVMHarness is the package being built or a dependency checked out under .build/checkouts.
        let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appending(path: "scripts/build-swift-guest.sh")
        let swiftc = try context.tool(named: "swiftc").url
        let shared = try [
            "SwiftGuest/Library", "SwiftGuest/Runtime", "SwiftGuest/Runtime/include", "SwiftGuest/SoftFloat",
            "SwiftGuest/SoftFloat/include", "Sources/KVMHarnessGuest",
            "Sources/KVMHarnessGuest/include", "Sources/KVMHarnessStubs/include",
        ].flatMap { folder in
            try Self.entries(of: root.appending(path: folder), directories: false).map {
                root.appending(path: folder).appending(path: $0)
            }
        }
        return try names.map { name in
            let folder = guests.appending(path: name)
            let sources = try Self.entries(of: folder, directories: false).filter { $0.hasSuffix(".swift") }
                .map { folder.appending(path: $0) }
            let image = context.pluginWorkDirectoryURL.appending(path: "\(name).elf")
            return .buildCommand(
                displayName: "Building Swift guest image \(name).elf",
                executable: URL(filePath: "/bin/bash"),
                arguments: [script.path(), image.path(), folder.path()],
                environment: ["KVMH_SWIFT_BIN": swiftc.deletingLastPathComponent().path()],
                inputFiles: [script] + shared + sources,
                outputFiles: [image])
        }
    }

    /// The names in `folder` that are folders (or files), sorted, without hidden ones; none if it does not exist.
    static func entries(of folder: URL, directories: Bool) throws -> [String] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: folder.path(), isDirectory: &isDirectory), isDirectory.boolValue else {
            return []
        }
        return try manager.contentsOfDirectory(atPath: folder.path()).filter { name in
            var entryIsDirectory: ObjCBool = false
            guard manager.fileExists(atPath: folder.appending(path: name).path(), isDirectory: &entryIsDirectory) else {
                return false
            }
            return !name.hasPrefix(".") && entryIsDirectory.boolValue == directories
        }.sorted()
    }
}
