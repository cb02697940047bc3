import ArgumentParser
import KVMHarnessReporting

/// `kvm-harness diff A B`.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two run records and print what the same images did differently.",
        discussion: """
            A and B are files written by `kvm-harness test --record` or `run --record` (or `test --format json` \
            output), usually from two hosts. For each image it compares the verdict, each vCPU's ucalls (every \
            field), the exits that ended a run (by reason), errors (kind and problem) and timeouts (the last \
            ucall before them). Times, exit counts, registers and addresses the host chose are not compared.

            Exit status: 0 the records agree; 1 they differ; 2 a record cannot be read.
            """)

    @Argument(help: "The first record.")
    var a: String

    @Argument(help: "The second record.")
    var b: String

    func run() throws {
        let status = RecordDiff.execute(a, b, write: printLine, diagnose: printError)
        if status != ExitStatus.success { throw ExitCode(status) }
    }
}
