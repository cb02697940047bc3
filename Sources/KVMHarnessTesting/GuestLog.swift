/// Where the test helpers send guest PRINTF lines as they arrive.
public enum GuestLog {
    /// A handler for one PRINTF line from a vCPU.
    public typealias Handler = @Sendable (_ vcpu: Int, _ line: String) -> Void

    /// The default: the test's log (standard output), one line per PRINTF, prefixed with the vCPU.
    public static let standardOutput: Handler = { vcpu, line in print("[guest vCPU \(vcpu)] \(line)") }

    /// Run options that pass PRINTF lines to `handler`.
    static func options(deadline: Duration?, printf handler: Handler?) -> RunOptions {
        guard let handler else { return RunOptions(deadline: deadline) }
        return RunOptions(deadline: deadline, onUcall: { vcpu, ucall in
            if case .printf(let line) = ucall { handler(vcpu, line) }
        })
    }
}
