import ArgumentParser
import KVMHarness
import KVMHarnessReporting

/// `kvm-harness test IMAGE_OR_DIR...`.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run a suite of guest images, each in a VM of its own, and report it as text, JSON, KTAP or JUnit.",
        discussion: """
            Each argument is an image or a directory searched for *.elf. Images are reported by name (the file \
            name without .elf, or the path below the directory) in name order, whatever the number of jobs. An \
            image runs on the vCPUs its kvm_harness_requires declaration asks for, and is skipped when the host \
            lacks a capability or CPU feature it declares (docs/guest-image-abi.md).

            Exit status: 0 every image passed or was skipped; 1 an image failed or could not be run; 2 usage \
            error (nothing run); 3 an image timed out; 4 this host cannot run guests. Where several apply, the \
            highest of 4, 3 and 1 wins.
            """)

    @Argument(help: ArgumentHelp("Guest images, or directories searched for *.elf.", valueName: "IMAGE_OR_DIR"))
    var paths: [String]

    @Option(
        parsing: .unconditional, help: ArgumentHelp("How many images run at once, each in its own VM.", valueName: "N"))
    var jobs = 1

    @Option(
        help: ArgumentHelp(
            "Run only shard K of N: an image belongs to shard hash(name) mod N + 1, so N runners with K = 1..N "
                + "cover the suite once.",
            valueName: "K/N"))
    var shard: String = "1/1"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds each image may run before it is stopped (the suite then exits 3); 0 for no limit.",
            valueName: "SECONDS"))
    var timeout: Double = 30

    @Option(help: "Output format: text, json (record lines) or ktap (KTAP version 1, as kselftest prints it).")
    var format: SuiteFormat = .text

    @Option(help: ArgumentHelp("Also write the results as JUnit XML to this file.", valueName: "PATH"))
    var junit: String?

    @Option(
        help: ArgumentHelp(
            "Also write a run record (the host, every image's events and verdict) to this file, for "
                + "kvm-harness diff.",
            valueName: "PATH"))
    var record: String?

    @OptionGroup var interrupts: InterruptControllerOptions

    @OptionGroup var device: DeviceOptions

    func validate() throws {
        guard (1...256).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 256, not \(jobs)") }
        guard Shard(shard) != nil else {
            throw ValidationError("--shard must be K/N with 1 <= K <= N (such as 2/3), not \(shard)")
        }
        guard timeout.isFinite, timeout >= 0, timeout <= 31_536_000 else {
            throw ValidationError("--timeout must be between 0 (no limit) and 31536000 seconds, not \(timeout)")
        }
    }

    func run() throws {
        let request = SuiteRun.Request(
            paths: paths, shard: Shard(shard) ?? .all,
            configuration: SuiteRunner.Configuration(
                deadline: timeout == 0 ? nil : .nanoseconds(Int64(timeout * 1e9)), jobs: jobs,
                devicePath: device.device, interruptController: interrupts.interruptController),
            format: format, junitPath: junit, recordPath: record, command: CommandLine.arguments)
        let status = SuiteRun.execute(request, write: printLine, diagnose: printError)
        if status != ExitStatus.success { throw ExitCode(status) }
    }
}

extension SuiteFormat: ExpressibleByArgument {}
