import ArgumentParser
import Glibc
import KVMHarnessReporting

/// `kvm-harness`: run stand-alone KVM guest images, trace their exits, explain exit reasons.
@main
struct KVMHarnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvm-harness",
        abstract: "Run KVM guest selftest images, trace every exit, and explain exit reasons.",
        discussion: """
            Exit status: 0 every vCPU reached DONE; 1 the guest failed (ABORT, UNHANDLED, a fault exit, HLT before \
            DONE, a malformed ucall); 2 usage error or unloadable image; 3 timeout; 4 this host cannot run guests.
            The guest image ABI and the JSON event schema are in docs/guest-image-abi.md.
            """,
        version: kvmHarnessVersion,
        subcommands: [
            RunCommand.self, TestCommand.self, DiffCommand.self, ProbeCommand.self, ExitsCommand.self,
            DemoCommand.self,
        ])

    /// Parses and runs like ArgumentParser's default `main()`, but reports usage errors with status 2 (the
    /// documented status) instead of ArgumentParser's 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                var message = fullMessage(for: error)
                if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
                printError(message)
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}
