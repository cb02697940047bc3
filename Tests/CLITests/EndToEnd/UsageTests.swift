import Foundation
import Testing

// The parts of the CLI that need no KVM: unloadable images (checked before /dev/kvm is opened), usage errors,
// help, and the exit-reason reference.

@Suite("kvm-harness: bad images, usage errors, help, exits")
struct UsageTests {
    /// Runs `run IMAGE --format json` on `bytes` and checks the contract for an unloadable image: status 2, nothing
    /// on stdout, one line on stderr that contains `message`.
    private func expectRefused(_ bytes: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let file = try TemporaryFile(bytes: bytes)
        defer { file.remove() }
        let result = try await CLI.run(["run", file.path, "--format", "json"])
        #expect(result.status == 2, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("kvm-harness: error: \(file.path): "), "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)", sourceLocation: sourceLocation)
    }

    private func cleanImage() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: try CLI.image("clean"))))
    }

    @Test("a missing image: status 2 and the reason")
    func missingImage() async throws {
        let result = try await CLI.run(["run", "/nonexistent/guest.elf"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr
                == "kvm-harness: error: /nonexistent/guest.elf: cannot read guest image /nonexistent/guest.elf: "
                + "No such file or directory; check the path and its permissions\n")
    }

    @Test("a file that is not ELF")
    func notELF() async throws {
        try await expectRefused(Array("#!/bin/sh\necho not a guest\n".utf8), "not an ELF file (bad magic)")
    }

    @Test("a truncated image")
    func truncated() async throws {
        let image = try cleanImage()
        try await expectRefused(Array(image.prefix(100)), "truncated ELF file")
        try await expectRefused(Array(image.prefix(30)), "truncated ELF file")
    }

    @Test("a 32-bit ELF file, and one for another machine")
    func wrongClassAndMachine() async throws {
        var image = try cleanImage()
        image[4] = 1  // ELFCLASS32
        try await expectRefused(image, "not a 64-bit ELF file")
        image = try cleanImage()
        image[18] = 183  // EM_AARCH64
        image[19] = 0
        try await expectRefused(image, "ELF machine 183 (EM_AARCH64) is not x86-64")
    }

    @Test("an entry point outside every segment")
    func entryOutsideSegments() async throws {
        var image = try cleanImage()
        image.writeU64(24, 0x10)  // e_entry
        try await expectRefused(image, "entry point 0x10 is outside every PT_LOAD segment")
    }

    @Test("no KVM device, or not a KVM device: status 4 with the reason and a hint, for every command", arguments: [
        ("/nonexistent/kvm", "cannot open /nonexistent/kvm: No such file or directory: KVM is not available on this host"),
        ("/dev/null", "/dev/null is not a KVM device"),
    ])
    func hostCannotRunGuests(device: String, message: String) async throws {
        for command in [["run", try CLI.image("clean")], ["probe"], ["demo"]] {
            let result = try await CLI.run(command + ["--device", device, "--format", "json"])
            #expect(result.status == 4, "\(command): \(result)")
            #expect(result.stdout.isEmpty, "\(command): \(result)")
            #expect(result.stderr.hasPrefix("kvm-harness: error: \(message)"), "\(command): \(result)")
        }
    }

    @Test("a KVM device the user may not open: status 4 and the kvm-group hint")
    func permissionDenied() async throws {
        let file = try TemporaryFile(bytes: [])
        defer { file.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: file.path)
        var executable = CLI.executable
        var arguments = ["probe", "--device", file.path]
        if geteuid() == 0 {
            // Root opens any file, so drop to nobody for the open to be refused.
            let setpriv = try #require(
                ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) },
                "running as root needs setpriv(1) to test a refused open")
            arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", executable.path] + arguments
            executable = URL(fileURLWithPath: setpriv)
        }
        let result = try await CLI.run(arguments, executable: executable)
        #expect(result.status == 4, "\(result)")
        #expect(
            result.stderr == "kvm-harness: error: cannot open \(file.path): Permission denied: add your user to the "
                + "kvm group (sudo usermod -aG kvm $USER) and log in again, or make the device readable and writable "
                + "for you\n", "\(result)")
    }

    @Test("usage errors exit with status 2 and say what is wrong", arguments: [
        (["run"], "Missing expected argument '<image>'"),
        (["run", "x.elf", "--vcpus", "0"], "--vcpus must be at least 1"),
        (["run", "x.elf", "--memory", "0"], "--memory must be between 1 and 1048576 MiB"),
        (["run", "x.elf", "--ucall-gpa", "0x1000"], "--ucall-gpa 0x1000 is inside guest RAM"),
        (["run", "x.elf", "--ucall-gpa", "0x10000004", "--memory", "1"], "--ucall-gpa 0x10000004 is not 8-byte aligned"),
        (["run", "x.elf", "--ucall-gpa", "banana"], "--ucall-gpa"),
        (["run", "x.elf", "--timeout=-1"], "--timeout must be between 0"),
        // Before, ArgumentParser took "-1" for an option and said "Missing value for '--timeout <SECONDS>'".
        (["run", "x.elf", "--timeout", "-1"], "--timeout must be between 0 (no limit) and 31536000 seconds, not -1.0"),
        (["run", "x.elf", "--memory", "-1"], "--memory must be between 1 and 1048576 MiB (1 TiB), not -1"),
        (["run", "x.elf", "--vcpus", "-1"], "--vcpus must be at least 1, not -1"),
        (["test", "x.elf", "--timeout", "-1"], "--timeout must be between 0 (no limit) and 31536000 seconds, not -1.0"),
        (["test", "x.elf", "--jobs", "-1"], "--jobs must be between 1 and 256, not -1"),
        (["demo", "--timeout", "-1"], "--timeout must be between 0 (no limit) and 31536000 seconds, not -1.0"),
        (["run", "x.elf", "--format", "xml"], "--format"),
        (["frobnicate"], "Unexpected argument 'frobnicate'"),
    ])
    func usageErrors(arguments: [String], message: String) async throws {
        let result = try await CLI.run(arguments)
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
        #expect(result.stderr.hasPrefix("kvm-harness: error: "), "\(result)")
        #expect(result.stderr.contains(message), "\(result)")
    }

    @Test("--help of every subcommand says what it does, its options and the exit statuses", arguments: [
        ([], ["USAGE: kvm-harness <subcommand>", "run", "test", "diff", "probe", "exits", "demo", "Exit status: 0"]),
        (["run"], ["USAGE: kvm-harness run <image>", "--vcpus <N>", "--memory <MIB>", "--ucall-gpa <ADDR>",
                   "--timeout <SECONDS>", "--format <format>", "--trace", "--stats", "(default: 64)",
                   "(default: 30.0)", "docs/guest-image-abi.md", "3 timeout"]),
        (["probe"], ["USAGE: kvm-harness probe", "capabilities", "--format <format>"]),
        (["exits"], ["USAGE: kvm-harness exits [<NUMBER|NAME>]", "usual causes", "--format <format>"]),
        (["demo"], ["USAGE: kvm-harness demo", "--iterations <N>", "Examples/DemoGuest/demo.c"]),
        (["test"], ["USAGE: kvm-harness test <IMAGE_OR_DIR> ...", "--jobs <N>", "--shard <K/N>", "--junit <PATH>",
                    "--record <PATH>", "--format <format>", "kvm_harness_requires", "docs/guest-image-abi.md"]),
        (["diff"], ["USAGE: kvm-harness diff <a> <b>", "--record"]),
    ])
    func help(subcommand: [String], expected: [String]) async throws {
        let result = try await CLI.run(subcommand + ["--help"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.hasPrefix("OVERVIEW: "), "\(result)")
        for text in expected { #expect(result.stdout.contains(text), "missing \(text) in\n\(result.stdout)") }
    }

    @Test("exits 39 explains MEMORY_FAULT; names and hex work too")
    func exitsByNumber() async throws {
        let result = try await CLI.run(["exits", "39"])
        #expect(result.status == 0, "\(result)")
        #expect(result.lines.first == "KVM_EXIT_MEMORY_FAULT (39)")
        #expect(result.stdout.contains("What usually causes it:"))
        for argument in ["SHUTDOWN", "kvm_exit_shutdown", "0x8"] {
            let other = try await CLI.run(["exits", argument])
            #expect(other.lines.first == "KVM_EXIT_SHUTDOWN (8)", "\(argument): \(other)")
        }
        let json = try await CLI.run(["exits", "hlt", "--format", "json"])
        #expect(json.jsonLines().first?["name"] as? String == "HLT")
        #expect(json.jsonLines().first?["number"] as? Int == 5)
    }

    @Test("exits with no argument lists every reason; an unknown one is a usage error")
    func exitsTable() async throws {
        let table = try await CLI.run(["exits", "--format", "json"])
        #expect(table.status == 0)
        let reasons = table.jsonLines()
        #expect(reasons.map { $0["number"] as? Int } == Array(0...41).map { $0 })
        let text = try await CLI.run(["exits"])
        #expect(text.stdout.contains(" 39  MEMORY_FAULT "), "\(text)")

        for argument in ["NOT_A_REASON", "99"] {
            let unknown = try await CLI.run(["exits", argument])
            #expect(unknown.status == 2, "\(unknown)")
            #expect(unknown.stdout.isEmpty)
            #expect(unknown.stderr.contains("'\(argument)' is not a KVM exit reason"), "\(unknown)")
        }
    }
}
