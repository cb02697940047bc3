// kvm-harness-bench: the KVMHarness benchmarks in one run (see BENCHMARKS.md and scripts/bench.sh).
//
// Usage:
//   kvm-harness-bench [--smoke] [--json PATH] [--markdown PATH] [--cli PATH] [--image PATH]
//                     [--allocations-tool PATH] [--kernel-selftests DIR] [--only SECTION,...]
//   kvm-harness-bench guest-loop GUEST COUNT      (child mode, counted by perf: runs one guest loop and exits)
//
// Prints the table with met or missed for each target and writes the results as JSON. Exits 1 if a measurement
// failed or produced an impossible value; a missed target is reported, never an error.
import Glibc

struct Options {
    var smoke = false
    var jsonPath = ".build/benchmarks/results.json"
    var markdownPath: String?
    var cliPath: String?
    var imagePath: String?
    var allocationsTool: String?
    var only: Set<String>?
    /// The kernel's built KVM selftests (memslot_perf_test, dirty_log_perf_test): the memory rows' baseline.
    var kernelSelftests: String?

    static let sections = ["overhead", "allocations", "guest", "lifecycle", "scale", "replies", "cli", "suite", "memory"]

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--smoke": smoke = true
            case "--json": jsonPath = try value(argument)
            case "--markdown": markdownPath = try value(argument)
            case "--cli": cliPath = try value(argument)
            case "--image": imagePath = try value(argument)
            case "--allocations-tool": allocationsTool = try value(argument)
            case "--kernel-selftests": kernelSelftests = try value(argument)
            case "--only":
                let names = try value(argument).split(separator: ",").map(String.init)
                for name in names where !Self.sections.contains(name) {
                    throw UsageError("unknown section \(name); sections: \(Self.sections.joined(separator: ", "))")
                }
                only = Set(names)
            default: throw UsageError("unknown argument \(argument)")
            }
        }
    }

    func includes(_ section: String) -> Bool { only?.contains(section) ?? true }
}

struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The sizes of everything, full or smoke.
struct Parameters {
    var ucallsPerRun: UInt64
    var rounds: Int
    var allocationWarmup: UInt64
    var allocationMeasured: UInt64
    var perfSmall: UInt64
    var perfLarge: UInt64
    var lifecycleIterations: Int
    var lifecycleWarmup: Int
    var creations: Int
    var throughputUcalls: UInt64
    var throughputRounds: Int
    var cliRounds: Int

    static let full = Parameters(
        ucallsPerRun: 50_000, rounds: 11, allocationWarmup: 1_000, allocationMeasured: 20_000, perfSmall: 2_000,
        perfLarge: 22_000, lifecycleIterations: 200, lifecycleWarmup: 10, creations: 100, throughputUcalls: 100_000,
        throughputRounds: 3, cliRounds: 3)
    static let smoke = Parameters(
        ucallsPerRun: 2_000, rounds: 1, allocationWarmup: 100, allocationMeasured: 1_000, perfSmall: 200,
        perfLarge: 1_200, lifecycleIterations: 10, lifecycleWarmup: 2, creations: 2, throughputUcalls: 2_000,
        throughputRounds: 1, cliRounds: 1)

    var json: JSON {
        .object([
            ("ucalls_per_run", .number(Double(ucallsPerRun))), ("rounds", .number(Double(rounds))),
            ("allocation_warmup", .number(Double(allocationWarmup))),
            ("allocation_measured", .number(Double(allocationMeasured))),
            ("perf_small", .number(Double(perfSmall))), ("perf_large", .number(Double(perfLarge))),
            ("lifecycle_iterations", .number(Double(lifecycleIterations))),
            ("creations", .number(Double(creations))), ("throughput_ucalls", .number(Double(throughputUcalls))),
            ("cli_rounds", .number(Double(cliRounds))),
        ])
    }
}

/// What the results say about the machine.
enum Machine {
    static func describe() -> JSON {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let cpuinfo = Subprocess.readFile("/proc/cpuinfo")
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmed } ?? "unknown"
        let modules = ["kvm_pvm", "kvm_amd", "kvm_intel"].filter { Subprocess.exists("/sys/module/\($0)") }
        return .object([
            ("kernel", .string(release)), ("cpu", .string(model)),
            ("cores", .number(Double(sysconf(Int32(_SC_NPROCESSORS_ONLN))))),
            ("memory_gib", .number(Double((sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE))) >> 30))),
            ("kvm_modules", .array(modules.map { .string($0) })),
        ])
    }

    static func date() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        // SAFETY: strftime wrote a NUL-terminated string into the zeroed buffer (it is far longer than the date).
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

extension String {
    var trimmed: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Checks that every number is possible: the smoke run's guarantee that the benchmark still measures something.
func sanityProblems(_ rows: [Row]) -> [String] {
    var problems: [String] = []
    for row in rows {
        switch row.status {
        case .notMeasured(let reason):
            // Only a missing tool may stop a measurement; anything else is a failure.
            let allowed = reason.contains("perf") || reason.contains("CLI image runner") || reason.contains("image")
                || reason.contains("not built")
            if !allowed { problems.append("\(row.name): not measured: \(reason)") }
        default:
            guard let library = row.library, library.isFinite else {
                problems.append("\(row.name): no measured value")
                continue
            }
            if library < 0 && !row.mayBeNegative || library == 0 && !row.mayBeZero {
                problems.append("\(row.name): measured \(library)")
            }
            if let baseline = row.baseline, !baseline.isFinite || baseline < 0 || baseline == 0 && !row.mayBeZero {
                problems.append("\(row.name): baseline \(baseline)")
            }
        }
    }
    return problems
}

func makeDirectory(_ path: String) {
    var partial = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        partial += "/" + component
        mkdir(partial, 0o755)
    }
}

func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

func log(_ message: String) {
    let bytes = Array("kvm-harness-bench: \(message)\n".utf8)
    _ = write(2, bytes, bytes.count)
}

func runBenchmarks(_ options: Options) throws -> Int32 {
    let parameters = options.smoke ? Parameters.smoke : Parameters.full
    let directory = parentDirectory(options.jsonPath)
    makeDirectory(directory)
    let executableDirectory = parentDirectory(Subprocess.currentExecutable())
    let allocationsTool = options.allocationsTool ?? executableDirectory + "/kvm-harness-bench-allocations"
    let started = Measure.now()
    let loadBefore = Measure.loadAverage()
    log("\(options.smoke ? "smoke" : "full") run; results in \(options.jsonPath)")

    var rows: [Row] = []
    if options.includes("overhead") {
        rows += try HostOverhead(count: parameters.ucallsPerRun, rounds: parameters.rounds).measure(log: log)
    }
    if options.includes("allocations") {
        rows += try Allocations(
            tool: allocationsTool, warmup: parameters.allocationWarmup, measured: parameters.allocationMeasured,
            directory: directory
        ).measure()
        log("allocations done")
    }
    if options.includes("guest") {
        rows += try GuestCost(small: parameters.perfSmall, large: parameters.perfLarge, directory: directory)
            .measure(log: log)
    }
    if options.includes("lifecycle") {
        rows += try Lifecycle(
            iterations: parameters.lifecycleIterations, warmup: parameters.lifecycleWarmup,
            imagePath: options.imagePath
        ).measure(log: log)
    }
    if options.includes("scale") {
        rows += try Scale(
            creations: parameters.creations, throughputUcalls: parameters.throughputUcalls,
            throughputRounds: parameters.throughputRounds
        ).measure(log: log)
    }
    if options.includes("replies") {
        rows += try HostCallCost(
            count: parameters.ucallsPerRun / 5, rounds: max(parameters.rounds / 2, 1),
            throughputUcalls: parameters.throughputUcalls
        ).measure(log: log)
    }
    if options.includes("cli") {
        rows += try CLIThroughput(
            cliPath: options.cliPath, imagePath: options.imagePath, rounds: parameters.cliRounds, directory: directory
        ).measure(log: log)
    }
    if options.includes("suite") {
        rows += try SuiteRunnerCost(
            cliPath: options.cliPath, imagePath: options.imagePath, rounds: parameters.cliRounds,
            copies: options.smoke ? 4 : 20, longImages: !options.smoke, directory: directory
        ).measure(log: log)
    }
    if options.includes("memory") {
        // Full: the C tests' memslot count (KVM's maximum) and move length (-l 5); a dirty-log size the C test
        // finishes here (its 1 GiB default spends minutes populating under PVM).
        rows += try MemoryCost(
            slots: options.smoke ? 32 : 0, moveSeconds: options.smoke ? 1 : 5, dirtyVCPUs: options.smoke ? 1 : 2,
            dirtyMiB: options.smoke ? 4 : 32, dirtyIterations: options.smoke ? 2 : 3,
            kernelSelftests: options.kernelSelftests, directory: directory
        ).measure(log: log)
    }

    let elapsed = Double(Measure.now() - started) / 1e9
    let problems = sanityProblems(rows)
    let met = rows.count { $0.status == .met }
    let missed = rows.count { $0.status == .missed }
    let unmeasured = rows.count { if case .notMeasured = $0.status { return $0.target != nil } else { return false } }

    print(Table.render(rows))
    print("")
    print("targets: \(met) met, \(missed) missed, \(unmeasured) not measured; \(Format.fixed(elapsed, 1)) s")
    for row in rows {
        if case .notMeasured(let reason) = row.status { print("not measured: \(row.name): \(reason)") }
    }

    let results = JSON.object([
        ("benchmark", .string("kvm-harness-bench")),
        ("mode", .string(options.smoke ? "smoke" : "full")),
        ("date", .string(Machine.date())),
        ("command", .string(CommandLine.arguments.joined(separator: " "))),
        ("machine", Machine.describe()),
        ("load_average_before", .number(loadBefore)), ("load_average_after", .number(Measure.loadAverage())),
        ("seconds", .number(elapsed)),
        ("parameters", parameters.json),
        ("summary", .object([
            ("met", .number(Double(met))), ("missed", .number(Double(missed))),
            ("not_measured", .number(Double(unmeasured))),
        ])),
        ("sane", .bool(problems.isEmpty)),
        ("problems", .array(problems.map { .string($0) })),
        ("rows", .array(rows.map(\.json))),
    ])
    try Subprocess.writeFile(options.jsonPath, results.rendered() + "\n")
    if let markdownPath = options.markdownPath { try Subprocess.writeFile(markdownPath, Table.markdown(rows) + "\n") }
    print("results: \(options.jsonPath)")

    if !problems.isEmpty {
        for problem in problems { log("FAILED: \(problem)") }
        return 1
    }
    return 0
}

do {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "guest-loop" {
        guard arguments.count == 3, let count = UInt64(arguments[2]) else {
            throw UsageError("usage: kvm-harness-bench guest-loop GUEST COUNT")
        }
        try GuestCost.runChild(arguments[1], ucalls: count)
        exit(0)
    }
    exit(try runBenchmarks(try Options(arguments)))
} catch {
    log("error: \(error)")
    exit(1)
}
