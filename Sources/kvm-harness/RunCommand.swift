import ArgumentParser
import KVMHarness
import KVMHarnessReporting

/// `kvm-harness run IMAGE`.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a stand-alone guest image until every vCPU reaches DONE, one fails, or the timeout passes.",
        discussion: """
            IMAGE is a static ELF64 x86-64 executable (ET_EXEC). Each vCPU starts at its entry point in 64-bit mode \
            at CPL0 with its index in RDI; the image reports with ucalls (MMIO or port 0x1000). The VM has local \
            APICs in the kernel (--interrupt-controller split), so a HLT waits for an interrupt; with \
            --interrupt-controller none a HLT before DONE ends the run as a failure. The first failure on any vCPU \
            stops the others.

            Exit status: 0 every vCPU reached DONE; 1 guest failure; 2 usage error or unloadable image (nothing \
            run); 3 timeout; 4 this host cannot run guests. See docs/guest-image-abi.md for the ABI and the JSON \
            events.
            """)

    @Argument(help: "The guest image (a static ELF64 x86-64 executable).")
    var image: String

    // `.unconditional`: the next argument is the value even if it starts with a dash, so `--vcpus -1` reaches
    // validate() and gets a range message instead of ArgumentParser's "Missing value" (it takes "-1" for an option).
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Number of vCPUs; each starts at the entry point with its index (0 to N-1) in RDI.", valueName: "N"))
    var vcpus = 1

    // Signed, so that `--memory -1` is a range error from validate(), not "the value is invalid".
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Guest RAM in MiB (backed only where the guest touches it).", valueName: "MIB"))
    var memory: Int = 64

    @Option(
        name: .customLong("ucall-gpa"), parsing: .unconditional,
        help: ArgumentHelp(
            "Guest-physical address of the ucall MMIO exit (hex with 0x, or decimal) instead of the one the harness "
                + "searches for; outside guest RAM, 8-byte aligned.",
            valueName: "ADDR"))
    var ucallGPA: GuestAddress?

    @OptionGroup var interrupts: InterruptControllerOptions

    @OptionGroup var limits: RunLimitOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var device: DeviceOptions

    @Flag(help: "After the run, print KVM's binary statistics for the VM and each vCPU (KVM_GET_STATS_FD).")
    var stats = false

    @Option(
        help: ArgumentHelp(
            "Also write a run record (the host, the run's events and verdict) to this file, for kvm-harness diff.",
            valueName: "PATH"))
    var record: String?

    func validate() throws {
        guard vcpus >= 1 else { throw ValidationError("--vcpus must be at least 1, not \(vcpus)") }
        guard (1...1_048_576).contains(memory) else {
            throw ValidationError("--memory must be between 1 and 1048576 MiB (1 TiB), not \(memory)")
        }
        if let gpa = ucallGPA?.value {
            guard gpa & 7 == 0 else { throw ValidationError("--ucall-gpa \(hex(gpa)) is not 8-byte aligned") }
            guard gpa >= UInt64(memory) << 20 else {
                throw ValidationError(
                    "--ucall-gpa \(hex(gpa)) is inside guest RAM (0x0 to \(hex(UInt64(memory) << 20)) with --memory "
                        + "\(memory)): a ucall address must be outside every memslot")
            }
        }
    }

    func run() throws {
        let configuration = ImageRun.Configuration(
            imagePath: image, vcpuCount: vcpus, memorySize: UInt64(memory) << 20, ucallAddress: ucallGPA?.value,
            deadline: limits.deadline, trace: limits.trace, statistics: stats, devicePath: device.device,
            interruptController: interrupts.interruptController)
        var recordRequest: ImageRun.RecordRequest?
        if let record {
            do {
                recordRequest = ImageRun.RecordRequest(
                    file: try OutputFile(path: record, purpose: "run record"), image: SuiteImage(imagePath: image),
                    command: CommandLine.arguments, devicePath: device.device)
            } catch {
                printError(error.message)
                throw ExitCode(error.exitStatus)
            }
        }
        let status = ImageRun.execute(
            configuration, format: output.format, record: recordRequest, write: printLine, diagnose: printError)
        if status != ExitStatus.success { throw ExitCode(status) }
    }
}

/// A guest-physical address on the command line: hex with a 0x prefix, or decimal.
struct GuestAddress: ExpressibleByArgument {
    var value: UInt64

    init?(argument: String) {
        let text = argument.lowercased()
        guard let value = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text) else {
            return nil
        }
        self.value = value
    }
}
