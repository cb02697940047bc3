import Foundation
import KVMHarnessTesting
import Testing

// `kvm-harness test` and `diff` on bad input: usage errors (no KVM needed), a host without KVM, and an image that
// cannot be run inside an otherwise good suite.

/// A fresh temporary folder holding `files` (name and bytes).
private func folder(_ files: [(String, [UInt8])]) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-harness-suite-\(UUID())")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    for (name, bytes) in files {
        guard FileManager.default.createFile(atPath: url.appendingPathComponent(name).path, contents: Data(bytes)) else {
            throw CLI.ImageBuildFailure(output: "cannot write \(name)")
        }
    }
    return url
}

@Suite("kvm-harness test and diff: usage errors, no KVM, unusable images")
struct SuiteUsageTests {
    @Test("usage errors: status 2, one line on stderr, nothing on stdout", arguments: [
        (["test", "/nonexistent/suite"], "/nonexistent/suite: No such file or directory: name an image file or a directory"),
        (["test", "/tmp", "--shard", "4/3"], "--shard must be K/N with 1 <= K <= N (such as 2/3), not 4/3"),
        (["test", "/tmp", "--shard", "two"], "--shard must be K/N with 1 <= K <= N (such as 2/3), not two"),
        (["test", "/tmp", "--jobs", "0"], "--jobs must be between 1 and 256, not 0"),
        (["test", "/tmp", "--timeout=-1"], "--timeout must be between 0 (no limit) and 31536000 seconds, not -1.0"),
        (["diff", "/nonexistent/a.jsonl", "/nonexistent/b.jsonl"],
            "/nonexistent/a.jsonl: No such file or directory: name a file written by --record"),
    ])
    func usage(arguments: [String], message: String) async throws {
        let result = try await CLI.run(arguments)
        #expect(result.status == 2, "\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
        // A validation error is followed by the usage line, as for every subcommand.
        #expect(result.stderr.hasPrefix("kvm-harness: error: \(message)\n"), "\(result)")
    }

    @Test("a directory without images, and an output file that cannot be created: status 2 before anything runs")
    func emptyFolderAndUnwritableOutput() async throws {
        let empty = try folder([])
        defer { try? FileManager.default.removeItem(at: empty) }
        let none = try await CLI.run(["test", empty.path])
        #expect(none.status == 2, "\(none)")
        #expect(none.stderr == "kvm-harness: error: \(empty.path): no *.elf images in this directory or below it\n")

        let suite = try folder([("a.elf", [0x7f])])
        defer { try? FileManager.default.removeItem(at: suite) }
        let unwritable = try await CLI.run(["test", suite.path, "--junit", "/nonexistent/junit.xml"])
        #expect(unwritable.status == 2, "\(unwritable)")
        #expect(unwritable.stdout.isEmpty)
        #expect(
            unwritable.stderr
                == "kvm-harness: error: cannot write the JUnit XML to /nonexistent/junit.xml: No such file or directory\n")
    }

    @Test("no KVM device: status 4 with the reason, for test as for run")
    func noKVM() async throws {
        let suite = try folder([("a.elf", [0x7f])])
        defer { try? FileManager.default.removeItem(at: suite) }
        let result = try await CLI.run(["test", suite.path, "--device", "/nonexistent/kvm", "--format", "ktap"])
        #expect(result.status == 4, "\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
        #expect(result.stderr.hasPrefix("kvm-harness: error: cannot open /nonexistent/kvm: "), "\(result)")
    }

    @Test("an unreadable record line: status 2 naming the file and the line")
    func badRecord() async throws {
        let records = try folder([
            ("a.jsonl", Array(#"{"event":"image","name":"x"}"#.utf8)), ("b.jsonl", Array("{\"event\":\n".utf8)),
        ])
        defer { try? FileManager.default.removeItem(at: records) }
        let a = records.appendingPathComponent("a.jsonl").path, b = records.appendingPathComponent("b.jsonl").path
        let result = try await CLI.run(["diff", a, b])
        #expect(result.status == 2, "\(result)")
        #expect(
            result.stderr == "kvm-harness: error: \(b):1: not JSON (unexpected end at byte 9): read a record written by "
                + "kvm-harness test --record or run --record\n")
    }

    @Test("an image that cannot be loaded is an ERROR result, the others still run; status 1", .requiresKVM)
    func unusableImageInSuite() async throws {
        let clean = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try CLI.image("clean"))))
        let suite = try folder([("broken.elf", Array("not an image".utf8)), ("clean.elf", clean)])
        defer { try? FileManager.default.removeItem(at: suite) }
        let result = try await CLI.run(["test", suite.path, "--format", "ktap"])
        #expect(result.status == 1, "\(result)")
        let broken = suite.appendingPathComponent("broken.elf").path
        let notELF = "not an ELF file (bad magic): a guest image must be a static ELF64 x86-64 executable"
        #expect(result.lines.filter { !$0.hasPrefix("#") } == [
            "KTAP version 1", "1..2", "not ok 1 broken # ERROR \(broken): \(notELF)", "ok 2 clean",
        ])
        let text = try await CLI.run(["test", suite.path])
        #expect(text.status == 1, "\(text)")
        #expect(text.lines.first == "running 2 images, jobs 1, timeout 30 s")
        #expect(text.lines.dropFirst().first == "ERROR    broken: \(broken): \(notELF)")
        #expect(text.lines.dropFirst(2).first?.hasPrefix("PASS     clean (4 ucalls, ") == true, "\(text)")
        #expect(text.lines.last?.hasPrefix("2 images: 1 passed, 0 failed, 1 error in ") == true, "\(text)")
    }
}
