import BenchmarkSupport
import KVMHarness

/// `kvm-harness run --format json` on the 100,000-ucall image, end to end (process start to exit, every event
/// written), against the library running the same image in this process.
struct CLIThroughput {
    var cliPath: String?
    var imagePath: String?
    var rounds: Int
    var directory: String

    static let section = "CLI"
    static let name = "kvm-harness run --format json, sync_loop.elf, vs library"

    func measure(log: (String) -> Void) throws -> [Row] {
        let target = Target(bound: .atLeast(0.9), text: ">= 0.9x")
        guard let cliPath, Subprocess.exists(cliPath) else {
            return [
                .notMeasured(
                    Self.section, Self.name, target: target,
                    reason: "not measured: CLI image runner not available (no kvm-harness at \(cliPath ?? "-"))")
            ]
        }
        guard let imagePath, Subprocess.exists(imagePath) else {
            return [
                .notMeasured(
                    Self.section, Self.name, target: target,
                    reason: "not measured: CLI image runner not available (no image at \(imagePath ?? "-"))")
            ]
        }
        var cliRates: [Double] = []
        var libraryRates: [Double] = []
        var fixedCosts: [Double] = []
        var ucallCount = 0.0
        // The CLI's fixed cost (process start, KVM, VM setup, exit) from an image with four ucalls, if it is there.
        let cleanImage = parentDirectory(imagePath) + "/clean.elf"
        for round in 0..<rounds {
            let cliFirst = round % 2 == 0
            if !cliFirst { libraryRates.append(try libraryRate(imagePath)) }
            let (rate, ucalls) = try cliRate(cliPath, imagePath)
            cliRates.append(rate)
            ucallCount = ucalls
            if cliFirst { libraryRates.append(try libraryRate(imagePath)) }
            if Subprocess.exists(cleanImage) {
                let clean = try Subprocess.run(cliPath, ["run", "--format", "json", cleanImage], directory: directory)
                guard clean.status == 0 else { throw Subprocess.Failure(description: "kvm-harness run clean.elf failed") }
                fixedCosts.append(Double(clean.wallNanoseconds) / 1e6)
            }
            log("CLI: round \(round + 1) of \(rounds) done")
        }
        let cli = Summary(cliRates)
        let library = Summary(libraryRates)
        var rows: [Row] = []
        if !fixedCosts.isEmpty {
            let fixed = Summary(fixedCosts)
            // What each ucall costs the CLI beyond the library's own round trip: formatting and writing its event.
            let perUcall = ((ucallCount / cli.median) - fixed.median / 1e3) / ucallCount * 1e6
                - 1e6 / library.median
            rows.append(
                .info(
                    Self.section, "kvm-harness run --format json, clean.elf (4 ucalls): whole process", unit: "ms",
                    library: fixed.median, detail: "the CLI's fixed cost: start, open KVM, VM setup, exit",
                    data: [("ms", fixed.json)]))
            rows.append(
                .info(
                    Self.section, "CLI cost per ucall beyond the library's (JSON event written)", unit: "us",
                    library: perUcall, detail: "(CLI time - fixed cost) / ucalls - library time / ucalls"
                ).allowingNegative())
        }
        return rows + [
            .checked(
                Self.section, Self.name, unit: "ucalls/s", library: cli.median, baseline: library.median,
                compared: cli.median / library.median, comparedText: Format.ratio(cli.median / library.median),
                target: target,
                detail: "\(Int(ucallCount)) ucalls; CLI: whole process, JSON lines to a file; "
                    + "library: ELFImage + VirtualMachine.load + run",
                data: [("cli", cli.json), ("library", library.json)])
        ]
    }

    /// The CLI's rate: ucalls reported in its summary / the process's wall time.
    private func cliRate(_ cli: String, _ image: String) throws -> (Double, Double) {
        let result = try Subprocess.run(cli, ["run", "--format", "json", image], directory: directory)
        guard result.status == 0 else {
            throw Subprocess.Failure(description: "kvm-harness run exited \(result.status): \(result.standardError)")
        }
        let lines = result.standardOutput.split(separator: "\n")
        guard let summary = lines.last, summary.contains("\"event\":\"summary\""), summary.contains("\"result\":\"done\""),
            let ucalls = FlatJSON.numbers(String(summary))["ucalls"], ucalls > 0
        else {
            throw Subprocess.Failure(description: "kvm-harness run printed no done summary: \(lines.last ?? "")")
        }
        let ucallLines = lines.count { $0.hasPrefix("{\"event\":\"ucall\"") }
        guard ucallLines == Int(ucalls) else {
            throw Subprocess.Failure(description: "kvm-harness run printed \(ucallLines) ucall lines, summary \(ucalls)")
        }
        return (ucalls / (Double(result.wallNanoseconds) / 1e9), ucalls)
    }

    /// The library's rate on the same image, through its public API as `kvm-harness run` does it: parse, VM, load,
    /// one vCPU at the entry point with index 0 in RDI, run.
    private func libraryRate(_ image: String) throws -> Double {
        let start = Measure.now()
        let vm = try VirtualMachine()
        let loaded = try vm.load(try ELFImage(contentsOf: image))
        try vm.addVCPU(entryAddress: loaded.entry, arguments: [0])
        let report = vm.run(RunOptions(deadline: .seconds(3600), recordsUcalls: false))
        let elapsed = Measure.now() - start
        guard report.succeeded, let ucalls = report.vcpus.first?.ucallCount, ucalls > 0 else {
            throw GuestLoops.Failure("the library's run of \(image) did not reach DONE")
        }
        return Double(ucalls) / (Double(elapsed) / 1e9)
    }
}
