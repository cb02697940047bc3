import Foundation
import Testing

/// What one run of the built `kvm-harness` did.
struct CLIResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout split into lines (without the trailing empty one).
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }

    /// Every stdout line parsed as a JSON object; records an issue for a line that is not one.
    func jsonLines(sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        lines.compactMap { line in
            guard let data = line.data(using: .utf8),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else {
                Issue.record("stdout line is not a JSON object: \(line)", sourceLocation: sourceLocation)
                return nil
            }
            return object
        }
    }

    var description: String { "status \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Finds the built tool and the example images, and runs the tool.
enum CLI {
    /// The package root: the nearest folder above this file with a Package.swift.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    /// The build products folder: where this test binary is, next to the kvm-harness executable.
    static let productsFolder: URL = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On Linux the test binary is <products>/<Package>PackageTests.xctest; walk up out of any bundle folder.
        while url.pathExtension == "xctest" || url.lastPathComponent == "MacOS" || url.lastPathComponent == "Contents" {
            url.deleteLastPathComponent()
        }
        return url
    }()

    /// The kvm-harness executable: $KVM_HARNESS_CLI if set, else the one next to this test binary.
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["KVM_HARNESS_CLI"] { return URL(fileURLWithPath: path) }
        return productsFolder.appendingPathComponent("kvm-harness")
    }

    /// The folder with the example images, built by scripts/build-guest-images.sh on first use (it rebuilds only
    /// what changed). Nil with the script's output when the build failed.
    static let images: Result<URL, ImageBuildFailure> = {
        let folder = productsFolder.appendingPathComponent("guest-images")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [packageRoot.appendingPathComponent("scripts/build-guest-images.sh").path, folder.path]
        var environment = ProcessInfo.processInfo.environment
        if environment["GUEST_CC"] == nil, let clang = toolchainClang() { environment["GUEST_CC"] = clang }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            return .failure(ImageBuildFailure(output: "cannot start bash: \(error)"))
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return .failure(ImageBuildFailure(output: text)) }
        return .success(folder)
    }()

    /// Why the example images could not be built.
    struct ImageBuildFailure: Error, CustomStringConvertible {
        var output: String
        var description: String { "scripts/build-guest-images.sh failed:\n\(output)" }
    }

    /// The clang of the toolchain this test runs on: the one next to the Swift runtime this process loaded
    /// (<toolchain>/usr/lib/swift/linux/libswiftCore.so -> <toolchain>/usr/bin/clang), whatever PATH says.
    static func toolchainClang() -> String? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") where line.hasSuffix("/libswiftCore.so") {
            guard let start = line.firstIndex(of: "/") else { continue }
            let library = URL(fileURLWithPath: String(line[start...]))
            let clang = library.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("bin/clang")
            if FileManager.default.isExecutableFile(atPath: clang.path) { return clang.path }
        }
        return nil
    }

    /// The path of the example image `name` (without .elf), building the images first if needed.
    static func image(_ name: String) throws -> String {
        try images.get().appendingPathComponent("\(name).elf").path
    }

    /// Runs kvm-harness (or `executable`) with `arguments` and waits for it (at most `limit` seconds, then kills it), without
    /// blocking a thread of Swift's cooperative pool.
    static func run(_ arguments: [String], executable: URL = CLI.executable, limit: TimeInterval = 60) async throws
        -> CLIResult
    {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-harness-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outURL = folder.appendingPathComponent("stdout")
        let errURL = folder.appendingPathComponent("stderr")
        // posix_spawn, not Foundation's Process: on Linux a Process and its run-loop source keep each other alive
        // after the run, which LeakSanitizer reports (170 KB of indirect leaks over the CLI tests).
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable.path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable.path, &actions, nil, &argv, environ)
        guard spawned == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot start \(executable.path): errno \(spawned)"])
        }
        // Poll without blocking a thread of the cooperative pool; past the limit, SIGTERM, then SIGKILL 5 s later
        // (a process that blocks SIGTERM, as LeakSanitizer does while it stops the world, still ends).
        let start = ContinuousClock.now
        var wait: Int32 = 0
        while true {
            let reaped = waitpid(pid, &wait, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { throw CocoaError(.fileReadUnknown) }
            let elapsed = ContinuousClock.now - start
            if elapsed > .seconds(limit + 5) {
                kill(pid, SIGKILL)
            } else if elapsed > .seconds(limit) {
                kill(pid, SIGTERM)
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        // The exit status, or the number of the signal that ended the process (as Process reports it).
        let status = wait & 0x7f == 0 ? (wait >> 8) & 0xff : wait & 0x7f
        // Read through FileHandle: String(contentsOf:) and Data(contentsOf:) leak a 4 KiB read buffer per file in
        // this toolchain's FoundationEssentials (readBytesFromFile; LeakSanitizer: 400 KB over the CLI tests, the
        // "254 KB" of issue 13).
        func contents(_ url: URL) throws -> String {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        }
        return CLIResult(status: status, stdout: try contents(outURL), stderr: try contents(errURL))
    }
}
