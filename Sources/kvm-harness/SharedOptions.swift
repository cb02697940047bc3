import ArgumentParser
import Glibc
import KVMHarness
import KVMHarnessReporting

/// `--format`, shared by every subcommand.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output format: text (readable lines) or json (one JSON object per line, nothing else on stdout).")
    var format: OutputFormat = .text
}

/// `--timeout` and `--trace`, shared by the subcommands that run a guest.
struct RunLimitOptions: ParsableArguments {
    // `.unconditional`: `--timeout -1` reaches validate() instead of failing as "Missing value" ("-1" looks like
    // an option to ArgumentParser).
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds the guest may run before it is stopped (exit status 3); 0 for no limit.", valueName: "SECONDS"))
    var timeout: Double = 30

    @Flag(help: "Report every exit, ucall exits included, with the registers at the exit.")
    var trace = false

    func validate() throws {
        guard timeout.isFinite, timeout >= 0, timeout <= 31_536_000 else {
            throw ValidationError("--timeout must be between 0 (no limit) and 31536000 seconds, not \(timeout)")
        }
    }

    /// The deadline: nil for `--timeout 0`.
    var deadline: Duration? { timeout == 0 ? nil : .nanoseconds(Int64(timeout * 1e9)) }
}

/// `--device`, hidden: another KVM device than /dev/kvm, for testing how the tool fails without one.
struct DeviceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The KVM device.", valueName: "PATH", visibility: .hidden))
    var device = KVM.defaultPath
}

extension OutputFormat: ExpressibleByArgument {}

extension InterruptController: ExpressibleByArgument {}

/// `--interrupt-controller`, shared by the subcommands that make VMs.
struct InterruptControllerOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The in-kernel interrupt controller: split (local APICs; the default), full (with IOAPIC and PIC) or "
                + "none (a HLT exits to the host and ends the run as a failure).",
            valueName: "KIND"))
    var interruptController: InterruptController = .split
}

/// Writes one line (or a few, for a text event with details) to stdout. Swift's print locks stdout for the whole
/// call, so lines from different vCPU threads never interleave.
@Sendable func printLine(_ line: String) { print(line) }

/// Writes a diagnostic to stderr: "kvm-harness: error: " and the message.
func printError(_ message: String) {
    var standardError = StandardError()
    print("kvm-harness: error: \(message)", to: &standardError)
}

/// stderr as a TextOutputStream.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        // Unbuffered write(2) to descriptor 2: no shared FILE state, and a diagnostic is never lost at exit.
        var remaining = Array(string.utf8)[...]
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            remaining = remaining.dropFirst(written)
        }
    }
}
