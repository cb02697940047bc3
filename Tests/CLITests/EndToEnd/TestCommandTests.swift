import Foundation
import Glibc
import KVMHarness
import KVMHarnessReporting
import KVMHarnessTesting
import Testing

// `kvm-harness test` end to end: the example images (Examples/images/*.c) as a suite on real /dev/kvm, its KTAP
// read by the kernel's own parser, its JUnit XML validated against the schema Jenkins publishes, shards, records.

/// The example images in name order, and what each does as a suite member (spin with --timeout 2). sync_loop, the
/// benchmarks' 100,000-ucall image, is left out: it alone would take seconds to tens of seconds on a loaded machine.
private let exampleVerdicts: [(name: String, ktap: String)] = [
    ("abort", "not ok 1 abort"),
    ("abort_unreadable", "not ok 2 abort_unreadable"),
    ("bad_ucall", "not ok 3 bad_ucall"),
    ("clean", "ok 4 clean"),
    ("first_failure", "not ok 5 first_failure"),
    ("halt", "not ok 6 halt"),
    ("odd_ucalls", "ok 7 odd_ucalls"),
    ("pio", "ok 8 pio"),
    ("port_io", "not ok 9 port_io"),
    ("printf", "ok 10 printf"),
    ("requires_long_mode", "ok 11 requires_long_mode"),
    ("requires_vmx", ""),  // host-dependent: see `vmxLine`
    ("spin", "not ok 13 spin # TIMEOUT 2.000 s"),
    ("stray_mmio", "not ok 14 stray_mmio"),
    ("triple_fault", "not ok 15 triple_fault"),
    ("two_vcpus", "ok 16 two_vcpus"),
    ("unhandled", "not ok 17 unhandled"),
]

/// A fresh folder of symbolic links to the example images of `exampleVerdicts`: the suite the tests run.
private func exampleSuiteFolder() throws -> URL {
    let images = try CLI.images.get()
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-harness-examples-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (name, _) in exampleVerdicts {
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("\(name).elf"), withDestinationURL: images.appendingPathComponent("\(name).elf"))
    }
    return folder
}

/// Whether this host's KVM offers VMX to guests, which decides whether requires_vmx runs or is skipped.
private func hostOffersVMX() throws -> Bool {
    try KVM.shared().supports(.vmx)
}

/// requires_vmx's result line on this host.
private func vmxLine() throws -> String {
    try hostOffersVMX()
        ? "ok 12 requires_vmx"
        : "ok 12 requires_vmx # SKIP KVM does not offer CPU feature vmx (CPUID.(EAX=0x1,ECX=0):ECX[5])"
}

/// One run of the whole example suite with --jobs 2: KTAP on stdout, JUnit XML and a record on the side. The
/// tests below share it (it takes a few seconds, most of them spin's timeout).
private struct SuiteArtifacts: Sendable {
    var result: CLIResult
    var junit: String
    var record: String
    var folder: URL
}

private let exampleSuite = Task { () throws -> SuiteArtifacts in
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-harness-suite-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let junit = folder.appendingPathComponent("junit.xml").path
    let record = folder.appendingPathComponent("record.jsonl").path
    let result = try await CLI.run([
        // The halt image is there to be a HLT exit: a VM without an in-kernel interrupt controller.
        "test", try exampleSuiteFolder().path, "--interrupt-controller", "none", "--jobs", "2", "--timeout", "2",
        "--format", "ktap", "--junit", junit,
        "--record", record,
    ])
    return SuiteArtifacts(
        result: result, junit: try String(contentsOfFile: junit, encoding: .utf8),
        record: try String(contentsOfFile: record, encoding: .utf8), folder: folder)
}

@Suite("kvm-harness test: the example images as a suite on real KVM", .requiresKVM)
struct TestCommandTests {
    @Test("KTAP: version, plan, one result per image in name order, vCPU subtests, SKIP, TIMEOUT; status 3")
    func ktapLines() async throws {
        let suite = try await exampleSuite.value
        let result = suite.result
        #expect(result.status == 3, "spin timed out: \(result)")
        #expect(result.stderr.isEmpty, "\(result)")
        let lines = result.lines
        #expect(Array(lines.prefix(2)) == ["KTAP version 1", "1..17"])
        #expect(lines[2].hasPrefix("# kvm-harness \(kvmHarnessVersion) test: jobs 2; host: "), "\(lines[2])")
        let results = lines.filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok ") }
        var expected = exampleVerdicts.map(\.ktap)
        expected[11] = try vmxLine()
        #expect(results == expected)
        #expect(lines.last == "# Totals: pass:\(try hostOffersVMX() ? 7 : 6) fail:10 xfail:0 xpass:0 "
            + "skip:\(try hostOffersVMX() ? 0 : 1) error:0")

        // Two-vCPU images nest a test per vCPU just before their own result line.
        let twoVCPUs = try #require(lines.firstIndex(of: "ok 16 two_vcpus"))
        #expect(Array(lines[(twoVCPUs - 5)..<twoVCPUs]) == [
            "  KTAP version 1", "  # Subtest: two_vcpus", "  1..2", "  ok 1 vcpu0", "  ok 2 vcpu1",
        ])
        let firstFailure = try #require(lines.firstIndex(of: "not ok 5 first_failure"))
        #expect(Array(lines[(firstFailure - 6)..<firstFailure]) == [
            "  KTAP version 1", "  # Subtest: first_failure", "  1..2",
            "  ok 1 vcpu0 # SKIP stopped: vCPU 1 failed first",
            "  # vCPU 1: ABORT Examples/images/first_failure.c:\(try line(of: "GUEST_ASSERT_EQ", in: "first_failure.c")): "
                + "vcpu_index == 0: expected vcpu_index == 0: left = 0x1 (1), right = 0x0 (0)",
            "  not ok 2 vcpu1",
        ])
        // A failure's diagnostics: the deciding event, then the last ucalls.
        let abort = try #require(lines.firstIndex(of: "not ok 1 abort"))
        let abortLine = try line(of: "GUEST_ASSERT_EQ(add(two, two), 5)", in: "abort.c")
        #expect(Array(lines[(abort - 4)..<abort]) == [
            "# abort: vCPU 0: ABORT Examples/images/abort.c:\(abortLine): add(two, two) == 5: "
                + "expected add(two, two) == 5: left = 0x4 (4), right = 0x5 (5)",
            "# abort: last ucalls:",
            "# abort:   vCPU 0: SYNC [0x1]",
            "# abort:   vCPU 0: ABORT Examples/images/abort.c:\(abortLine): add(two, two) == 5: "
                + "expected add(two, two) == 5: left = 0x4 (4), right = 0x5 (5)",
        ])
    }

    @Test("the kernel's own KTAP parser (tools/testing/kunit/kunit.py parse) reads the suite with the right counts",
        .enabled(if: ReportCheckers.kunit != nil, Comment(rawValue: ReportCheckers.reason("kunit.py"))))
    func kunitParsesKTAP() async throws {
        let suite = try await exampleSuite.value
        let kunit = try #require(ReportCheckers.kunit)
        let ktap = suite.folder.appendingPathComponent("suite.ktap")
        try suite.result.stdout.write(to: ktap, atomically: true, encoding: .utf8)
        let json = suite.folder.appendingPathComponent("kunit.json")
        let parsed = try await ReportCheckers.python(["python3", kunit.path, "parse", "--json=\(json.path)", ktap.path])
        // kunit.py exits 1 because tests failed, and counts a parent with subtests by its subtests: 15 images
        // without subtests and 2 x 2 vCPUs.
        #expect(parsed.status == 1, "\(parsed.output)")
        let vmx = try hostOffersVMX()
        #expect(
            parsed.output.contains(
                "Testing complete. Ran 19 tests: passed: \(vmx ? 8 : 7), failed: 10, skipped: \(vmx ? 1 : 2)"),
            "\(parsed.output)")
        #expect(!parsed.output.contains("[ERROR]"), "kunit.py found errors in the KTAP:\n\(parsed.output)")

        let group = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        let cases = try #require(group["test_cases"] as? [[String: String]])
        var expected: [[String: String]] = []
        for (name, ktap) in exampleVerdicts where name != "first_failure" && name != "two_vcpus" {
            let status: String
            if name == "requires_vmx" { status = vmx ? "PASS" : "SKIP" } else { status = ktap.hasPrefix("ok") ? "PASS" : "FAIL" }
            expected.append(["name": name, "status": status])
        }
        #expect(cases == expected)
        let groups = try #require(group["sub_groups"] as? [[String: Any]])
        #expect(groups.map { $0["name"] as? String } == ["first_failure", "two_vcpus"])
        #expect(groups.map { $0["test_cases"] as? [[String: String]] } == [
            [["name": "vcpu0", "status": "SKIP"], ["name": "vcpu1", "status": "FAIL"]],
            [["name": "vcpu0", "status": "PASS"], ["name": "vcpu1", "status": "PASS"]],
        ])
    }

    @Test("kunit.py is a real check: it reports an error for KTAP whose numbering is wrong",
        .enabled(if: ReportCheckers.kunit != nil, Comment(rawValue: ReportCheckers.reason("kunit.py"))))
    func kunitRejectsBadKTAP() async throws {
        let kunit = try #require(ReportCheckers.kunit)
        let file = try TemporaryFile(bytes: Array("KTAP version 1\n1..2\nok 1 a\nok 3 b\n".utf8), name: "bad.ktap")
        defer { file.remove() }
        let parsed = try await ReportCheckers.python(["python3", kunit.path, "parse", file.path])
        #expect(parsed.output.contains("Expected test number 2 but found 3"), "\(parsed.output)")
    }

    @Test("JUnit XML: valid against junit-10.xsd (xmlschema), one testcase per image, failures typed by result",
        .enabled(if: ReportCheckers.junit != nil, Comment(rawValue: ReportCheckers.reason("JUnit"))))
    func junitValidates() async throws {
        let suite = try await exampleSuite.value
        let (schema, pythonPath) = try #require(ReportCheckers.junit)
        let report = suite.folder.appendingPathComponent("junit.xml")
        let checked = try await ReportCheckers.python([
            "python3", CLI.packageRoot.appendingPathComponent("scripts/validate-junit.py").path, schema.path,
            pythonPath.path, report.path,
        ])
        #expect(checked.status == 0, "\(checked.output)")
        let summary = try #require(
            JSONSerialization.jsonObject(with: Data(checked.output.utf8)) as? [String: Any], "\(checked.output)")
        let vmx = try hostOffersVMX()
        #expect(summary["valid"] as? Bool == true)
        #expect(summary["tests"] as? Int == 17)
        #expect(summary["failures"] as? Int == 10)
        #expect(summary["skipped"] as? Int == (vmx ? 0 : 1))
        let cases = try #require(summary["testcases"] as? [[String: Any]])
        let types: [String: String] = [
            "abort": "abort", "abort_unreadable": "abort", "bad_ucall": "error", "first_failure": "abort",
            "halt": "halted", "port_io": "fault", "spin": "timeout", "stray_mmio": "fault", "triple_fault": "fault",
            "unhandled": "unhandled",
        ]
        #expect(cases.map { $0["name"] as? String } == exampleVerdicts.map(\.name))
        for testcase in cases {
            let name = testcase["name"] as? String ?? ""
            if let type = types[name] {
                #expect(testcase["outcome"] as? String == "failure", "\(name)")
                #expect(testcase["type"] as? String == type, "\(name)")
            } else if name == "requires_vmx" && !vmx {
                #expect(testcase["outcome"] as? String == "skipped")
            } else {
                #expect(testcase["outcome"] as? String == "passed", "\(name)")
            }
        }
        // The failure carries the deciding event and the last ucalls.
        #expect(suite.junit.contains(#"<failure type="timeout" message="vCPU 0: timeout: still running at RIP 0x"#))
        #expect(suite.junit.contains("last ucalls:&#10;vCPU 0: SYNC [0x1]") || suite.junit.contains("last ucalls:\nvCPU 0: SYNC [0x1]"))
    }

    @Test("the JUnit validator is a real check: it rejects a testcase without a name",
        .enabled(if: ReportCheckers.junit != nil, Comment(rawValue: ReportCheckers.reason("JUnit"))))
    func junitValidatorRejects() async throws {
        let (schema, pythonPath) = try #require(ReportCheckers.junit)
        let xml = #"<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>"#
        let file = try TemporaryFile(bytes: Array(xml.utf8), name: "bad.xml")
        defer { file.remove() }
        let checked = try await ReportCheckers.python([
            "python3", CLI.packageRoot.appendingPathComponent("scripts/validate-junit.py").path, schema.path,
            pythonPath.path, file.path,
        ])
        #expect(checked.status == 1, "\(checked.output)")
        #expect(checked.output.hasPrefix("invalid: "), "\(checked.output)")
    }

    @Test("shards 1/3, 2/3 and 3/3 together run every image exactly once, each where its name hashes")
    func shardsCoverTheSuiteOnce() async throws {
        var seen: [String] = []
        let suite = try exampleSuiteFolder()
        defer { try? FileManager.default.removeItem(at: suite) }
        for index in 1...3 {
            let result = try await CLI.run([
                "test", suite.path, "--shard", "\(index)/3", "--timeout", "2", "--format", "json",
            ])
            let names = result.jsonLines().filter { $0["event"] as? String == "image" }.compactMap { $0["name"] as? String }
            #expect(names == names.sorted())
            #expect(names.allSatisfy { Shard(index: index, count: 3)!.contains($0) }, "\(names)")
            let suite = try #require(result.jsonLines().last)
            #expect(suite["event"] as? String == "suite")
            #expect(suite["images"] as? Int == names.count)
            #expect(suite["shard"] as? String == "\(index)/3")
            #expect(result.status == (suite["status"] as? Int).map(Int32.init), "\(result)")
            seen += names
        }
        #expect(seen.sorted() == exampleVerdicts.map(\.name))
    }

    @Test("the record: host, then per image its line, its events and its verdict; diff of it with itself is empty")
    func recordAndSelfDiff() async throws {
        let suite = try await exampleSuite.value
        let lines = suite.record.split(separator: "\n").map(String.init)
        let header = try #require(
            JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(header["event"] as? String == "record")
        #expect(header["format"] as? Int == 1)
        let host = try #require(header["host"] as? [String: Any])
        var names = utsname()
        uname(&names)
        #expect(host["kernel"] as? String == withUnsafeBytes(of: names.release) {
            String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
        })
        #expect((host["capabilities"] as? [String: Int])?["KVM_CAP_SYNC_REGS"] ?? 0 > 0)
        let clean = try #require(lines.firstIndex { $0.hasPrefix(#"{"event":"image","name":"clean","#) })
        #expect(lines[clean + 1] == #"{"event":"ucall","vcpu":0,"cmd":"SYNC","args":["0x1","0x0","0x0","0x0","0x0","0x0","0x0"]}"#)
        #expect(lines[clean + 5].hasPrefix(#"{"event":"summary","result":"done","#))
        #expect(lines[clean + 6].hasPrefix(
            #"{"event":"verdict","image":"clean","verdict":"pass","result":"done","status":0,"reason":null,"elapsed_ms":"#))

        let path = suite.folder.appendingPathComponent("record.jsonl").path
        let same = try await CLI.run(["diff", path, path])
        #expect(same.status == 0, "\(same)")
        #expect(same.lines.last == "no differences in 17 images (times, counts and host addresses are not compared)")
    }

    @Test("diff reports a changed ucall and a changed verdict, and ignores changed times; exit 1 when they differ")
    func diffFindsChanges() async throws {
        let suite = try await exampleSuite.value
        let folder = suite.folder
        let original = suite.record
        // Times only: every elapsed_ms and exit time changed.
        let retimed = original.replacingOccurrences(of: #""elapsed_ms":"#, with: #""elapsed_ms":9"#)
            .replacingOccurrences(of: #""total_ns":"#, with: #""total_ns":7"#)
        #expect(retimed != original)
        let a = folder.appendingPathComponent("a.jsonl"), b = folder.appendingPathComponent("b.jsonl")
        try original.write(to: a, atomically: true, encoding: .utf8)
        try retimed.write(to: b, atomically: true, encoding: .utf8)
        let timesOnly = try await CLI.run(["diff", a.path, b.path])
        #expect(timesOnly.status == 0, "\(timesOnly)")

        // clean's third SYNC changed, and pio's verdict.
        let changed = retimed
            .replacingOccurrences(
                of: #"{"event":"ucall","vcpu":0,"cmd":"SYNC","args":["0x3","0x0","0xabc","#,
                with: #"{"event":"ucall","vcpu":0,"cmd":"SYNC","args":["0x3","0x0","0xabd","#)
            .replacingOccurrences(
                of: #"{"event":"verdict","image":"pio","verdict":"pass","result":"done","status":0"#,
                with: #"{"event":"verdict","image":"pio","verdict":"fail","result":"fault","status":1"#)
        #expect(changed != retimed)
        try changed.write(to: b, atomically: true, encoding: .utf8)
        let different = try await CLI.run(["diff", a.path, b.path])
        #expect(different.status == 1, "\(different)")
        #expect(Array(different.lines.dropFirst(2)) == [
            #"clean: vCPU 0 event 3: A ucall SYNC args=["0x3","0x0","0xabc","0x0","0x0","0x0","0x0"]; "#
                + #"B ucall SYNC args=["0x3","0x0","0xabd","0x0","0x0","0x0","0x0"]"#,
            "pio: verdict: A pass (done, status 0), B fail (fault, status 1)",
            "2 of 17 images differ",
        ])
    }

    @Test("run --record writes a record that diff compares with the suite's")
    func runRecord() async throws {
        let suite = try await exampleSuite.value
        let path = suite.folder.appendingPathComponent("clean-run.jsonl").path
        let result = try await CLI.run(["run", try CLI.image("clean"), "--record", path, "--format", "json"])
        #expect(result.status == 0, "\(result)")
        let record = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(record.count == 8)  // record, image, 4 ucalls, summary, verdict
        #expect(record[1] == #"{"event":"image","name":"clean","path":"\#(try CLI.image("clean"))","vcpus":1}"#)
        let cleanOnly = suite.folder.appendingPathComponent("suite-clean.jsonl")
        let lines = suite.record.split(separator: "\n")
        let start = try #require(lines.firstIndex { $0.hasPrefix(#"{"event":"image","name":"clean","#) })
        try (lines[0...0] + lines[start...(start + 6)]).joined(separator: "\n").write(
            to: cleanOnly, atomically: true, encoding: .utf8)
        let diff = try await CLI.run(["diff", path, cleanOnly.path])
        #expect(diff.status == 0, "\(diff)")
    }
}

/// The 1-based line of the first line of Examples/images/`file` that contains `text`.
private func line(of text: String, in file: String) throws -> Int {
    let source = try String(
        contentsOf: CLI.packageRoot.appendingPathComponent("Examples/images/\(file)"), encoding: .utf8)
    return try #require(source.split(separator: "\n", omittingEmptySubsequences: false).firstIndex {
        $0.contains(text)
    }) + 1
}
