import ArgumentParser
import KVMHarness
import KVMHarnessReporting

/// `kvm-harness probe`.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show what this host's KVM offers guest selftests.",
        discussion: """
            Prints the KVM API version, the capabilities selftest authors ask about (present or not, with their \
            values), the host's and the guest's address widths, the ucall MMIO address a default VM gets, and the \
            vCPU limits. Exit status 4 (with the reason and a hint) when KVM cannot be used.
            """)

    @OptionGroup var output: OutputOptions
    @OptionGroup var device: DeviceOptions

    func run() throws {
        let probe: HostProbe
        do {
            probe = try HostProbe.gather(devicePath: device.device)
        } catch {
            printError(error.description)
            throw ExitCode(ExitStatus.hostUnavailable)
        }
        printLine(output.format == .json ? probe.json.rendered : probe.text)
    }
}
