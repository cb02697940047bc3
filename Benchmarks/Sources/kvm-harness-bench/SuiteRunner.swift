import Glibc

/// `kvm-harness test`: the suite's wall time with one job and with two, and what the runner adds per image beside
/// a plain `kvm-harness run` (both whole processes, from spawn to exit).
struct SuiteRunnerCost {
    var cliPath: String?
    var imagePath: String?
    var rounds: Int
    /// How many copies of clean.elf the per-image suite has.
    var copies: Int
    /// Whether to time two copies of sync_loop.elf (seconds of guest time each) with one job and with two.
    var longImages: Bool
    var directory: String

    static let section = "suite"

    func measure(log: (String) -> Void) throws -> [Row] {
        guard let cli = cliPath, Subprocess.exists(cli), let imagePath, Subprocess.exists(imagePath) else {
            return [
                .notMeasured(
                    Self.section, "kvm-harness test, example images", target: nil,
                    reason: "not measured: CLI image runner not available (kvm-harness or the images missing)")
            ]
        }
        let images = parentDirectory(imagePath)
        // The example suite without spin.elf, whose only cost is the timeout it waits for, and sync_loop.elf, whose
        // 100,000 ucalls are the CLI section's subject and would hide everything else here.
        let suite = directory + "/suite-images"
        let copies = directory + "/suite-clean-copies"
        let members = try exampleNames(images).filter { $0 != "spin.elf" && $0 != "sync_loop.elf" }
        try link(from: images, into: suite, names: members)
        try link(from: images, into: copies, names: [], cleanCopies: self.copies)
        let imageCount = members.count
        let long = directory + "/suite-long"
        try link(from: images, into: long, names: [])
        for index in 0..<2 where symlink(absolute(images) + "/sync_loop.elf", long + "/sync_loop_\(index).elf") != 0 {
            throw Subprocess.Failure(description: "cannot link sync_loop.elf into \(long)")
        }

        var jobs1: [Double] = [], jobs2: [Double] = [], single: [Double] = [], plain: [Double] = []
        var perImage: [Double] = [], long1: [Double] = [], long2: [Double] = []
        for round in 0..<rounds {
            if longImages {
                long1.append(try suiteMilliseconds(cli, [long, "--jobs", "1"], expect: 0))
                long2.append(try suiteMilliseconds(cli, [long, "--jobs", "2"], expect: 0))
            }
            // halt.elf is there to be a HLT exit, which needs a VM without an in-kernel local APIC (with one, it
            // would wait out the timeout), as in the CLI's own suite tests.
            jobs1.append(try suiteMilliseconds(cli, [suite, "--jobs", "1", "--interrupt-controller", "none"]))
            jobs2.append(try suiteMilliseconds(cli, [suite, "--jobs", "2", "--interrupt-controller", "none"]))
            single.append(try suiteMilliseconds(cli, [images + "/clean.elf"]))
            plain.append(try runMilliseconds(cli, images + "/clean.elf"))
            perImage.append(try suiteMilliseconds(cli, [copies, "--jobs", "1"]) / Double(self.copies))
            log("suite: round \(round + 1) of \(rounds) done")
        }
        let one = Summary(jobs1), two = Summary(jobs2)
        let test = Summary(single), run = Summary(plain), each = Summary(perImage)
        var rows: [Row] = []
        if longImages {
            let slow1 = Summary(long1), slow2 = Summary(long2)
            rows += [
                .info(
                    Self.section, "kvm-harness test, 2 x sync_loop.elf (100,000 ucalls each), --jobs 1", unit: "ms",
                    library: slow1.median, detail: "whole process; seconds of guest time per image",
                    data: [("ms", slow1.json)]),
                .info(
                    Self.section, "kvm-harness test, 2 x sync_loop.elf (100,000 ucalls each), --jobs 2", unit: "ms",
                    library: slow2.median, baseline: slow1.median, ratio: slow1.median / slow2.median,
                    detail: "ratio = speed-up over --jobs 1", data: [("ms", slow2.json)]),
            ]
        }
        return rows + [
            .info(
                Self.section, "kvm-harness test, \(imageCount) example images, --jobs 1", unit: "ms",
                library: one.median,
                detail: "whole process; p10-p90 \(Format.number(one.p10))-\(Format.number(one.p90))",
                data: [("ms", one.json)]),
            .info(
                Self.section, "kvm-harness test, \(imageCount) example images, --jobs 2", unit: "ms",
                library: two.median, baseline: one.median, ratio: one.median / two.median,
                detail: "ratio = speed-up over --jobs 1; p10-p90 \(Format.number(two.p10))-\(Format.number(two.p90))",
                data: [("ms", two.json)]),
            .info(
                Self.section, "kvm-harness test clean.elf vs kvm-harness run clean.elf", unit: "ms",
                library: test.median, baseline: run.median, ratio: test.median / run.median,
                detail: "whole processes; test adds the host description and the declaration check",
                data: [("test_ms", test.json), ("run_ms", run.json)]),
            .info(
                Self.section, "per image in a suite of \(self.copies) x clean.elf, --jobs 1, vs one run process",
                unit: "ms", library: each.median, baseline: run.median, ratio: each.median / run.median,
                detail: "suite wall time / images; baseline: kvm-harness run clean.elf, whole process",
                data: [("ms", each.json)]),
        ]
    }

    /// The whole process's wall time; `expect` is the status the suite must end with (nil: 0 or 1).
    private func suiteMilliseconds(_ cli: String, _ arguments: [String], expect: Int32? = nil) throws -> Double {
        let result = try Subprocess.run(cli, ["test"] + arguments + ["--format", "json"], directory: directory)
        // The example suite fails on purpose (abort.elf and friends): 1 is expected there, anything else is not.
        let allowed: [Int32] = expect.map { [$0] } ?? [0, 1]
        guard allowed.contains(result.status),
            let last = result.standardOutput.split(separator: "\n").last, last.hasPrefix("{\"event\":\"suite\"")
        else {
            throw Subprocess.Failure(
                description: "kvm-harness test \(arguments.joined(separator: " ")) exited \(result.status): "
                    + result.standardError)
        }
        return Double(result.wallNanoseconds) / 1e6
    }

    private func runMilliseconds(_ cli: String, _ image: String) throws -> Double {
        let result = try Subprocess.run(cli, ["run", image, "--format", "json"], directory: directory)
        guard result.status == 0 else {
            throw Subprocess.Failure(description: "kvm-harness run \(image) exited \(result.status)")
        }
        return Double(result.wallNanoseconds) / 1e6
    }

    /// The *.elf files in `folder`, sorted.
    private func exampleNames(_ folder: String) throws -> [String] {
        guard let handle = opendir(folder) else { throw Subprocess.Failure(description: "cannot list \(folder)") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".elf") { names.append(name) }
        }
        return names.sorted()
    }

    /// A fresh `folder` of symbolic links to `names` in `images`, and `cleanCopies` links to clean.elf.
    private func link(from images: String, into folder: String, names: [String], cleanCopies: Int = 0) throws {
        makeDirectory(folder)
        if let handle = opendir(folder) {
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name.hasSuffix(".elf") { unlink(folder + "/" + name) }
            }
            closedir(handle)
        }
        let base = absolute(images)
        for name in names where symlink(base + "/" + name, folder + "/" + name) != 0 {
            throw Subprocess.Failure(description: "cannot link \(name) into \(folder)")
        }
        for index in 0..<cleanCopies where symlink(base + "/clean.elf", folder + "/clean_\(index).elf") != 0 {
            throw Subprocess.Failure(description: "cannot link clean.elf into \(folder)")
        }
    }

    /// `path` made absolute against the working directory.
    private func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let directory = getcwd(nil, 0) else { return path }
        defer { free(directory) }
        return String(cString: directory) + "/" + path
    }
}
