import ArgumentParser
import KVMHarness
import KVMHarnessReporting

/// `kvm-harness exits [NUMBER|NAME]`.
struct ExitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exits",
        abstract: "Explain KVM exit reasons: what each means and what usually causes it.",
        discussion: """
            Without an argument, lists every KVM_EXIT_* reason with its number, name, meaning and usual causes. \
            With one, explains that reason. Examples: kvm-harness exits 8; kvm-harness exits SHUTDOWN; \
            kvm-harness exits kvm_exit_mmio.
            """)

    @Argument(
        help: ArgumentHelp(
            "A reason's number (decimal or 0x hex) or name, with or without KVM_EXIT_.", valueName: "NUMBER|NAME"))
    var reason: String?

    @OptionGroup var output: OutputOptions

    func run() throws {
        guard let reason else {
            switch output.format {
            case .text: printLine(ExitReasonReference.table())
            case .json: for reason in ExitReason.all { printLine(ExitReasonReference.json(reason).rendered) }
            }
            return
        }
        guard let found = ExitReasonReference.lookup(reason) else {
            printError(ExitReasonReference.unknownMessage(reason))
            throw ExitCode(ExitStatus.unusable)
        }
        printLine(
            output.format == .json ? ExitReasonReference.json(found).rendered : ExitReasonReference.explain(found))
    }
}
