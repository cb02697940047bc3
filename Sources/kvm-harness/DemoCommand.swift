import ArgumentParser
import DemoGuest
import KVMHarness
import KVMHarnessReporting

/// `kvm-harness demo`: the README's first command.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the bundled example guest and print its decoded ucalls.",
        discussion: """
            The guest is C code linked into this tool (Examples/DemoGuest/demo.c): it computes Fibonacci numbers \
            and reports each with GUEST_SYNC_ARGS, then DONE. It needs no build step besides building the tool. \
            Exit status as for run.
            """)

    @Option(
        help: ArgumentHelp("How many Fibonacci numbers the guest computes and reports (at most 90).", valueName: "N"))
    var iterations: UInt64 = 5

    @OptionGroup var limits: RunLimitOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var device: DeviceOptions

    func validate() throws {
        guard iterations <= 90 else {
            throw ValidationError("--iterations must be at most 90 (the 91st Fibonacci number overflows 64 bits)")
        }
    }

    func run() throws {
        let iterations = self.iterations
        let devicePath = device.device
        let status = ImageRun.execute(
            title: "demo_guest_main(\(iterations))",
            options: ReportingOptions(deadline: limits.deadline, trace: limits.trace),
            format: output.format, write: printLine, diagnose: printError
        ) { () throws(RunSetupError) in
            let kvm = try ImageRun.openKVM(path: devicePath)
            do throws(KVMError) {
                return try VirtualMachine(
                    entry: GuestFunction(demo_guest_main), arguments: [iterations],
                    configuration: VirtualMachine.Configuration(devicePath: devicePath), kvm: kvm)
            } catch {
                throw RunSetupError(error)
            }
        }
        if status != ExitStatus.success { throw ExitCode(status) }
    }
}
