import Testing

extension Trait where Self == ConditionTrait {
    /// Runs the test only where `/dev/kvm` exists (or `KVMHARNESS_REQUIRE_KVM=1`), skipping it with the reason
    /// otherwise.
    public static var requiresKVM: Self {
        .enabled(if: KVMAvailability.shouldRun, Comment(rawValue: KVMAvailability.unavailableReason ?? "KVM available"))
    }
}

/// Records every failure of a guest run as a Swift Testing issue: a guest assertion at the guest's own file and
/// line (so logs and IDEs point at the C line that failed), everything else at the caller.
///
/// - Parameters:
///   - report: the run, from `VirtualMachine.run`.
///   - expected: the ucalls each vCPU must make (PRINTF and NONE left out; end with `.done`), or nil to only
///     require DONE.
/// - Returns: true if there was no failure.
@discardableResult
public func expectGuestRun(
    _ report: RunReport, ucalls expected: [Ucall]? = nil, sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    let failures = GuestRunVerdict.failures(of: report, expected: expected)
    for failure in failures {
        var location = sourceLocation
        if let file = failure.file, let line = failure.line, line > 0 {
            let name = file.split(separator: "/").last.map(String.init) ?? file
            location = SourceLocation(fileID: "guest/\(name)", filePath: file, line: line, column: 1)
        }
        Issue.record(Comment(rawValue: failure.message), sourceLocation: location)
    }
    return failures.isEmpty
}

extension VirtualMachine {
    /// Runs the guest (off the cooperative pool) and records its failures with `expectGuestRun`.
    ///
    /// - Parameters:
    ///   - expected: the ucalls each vCPU must make (PRINTF and NONE left out; end with `.done`).
    ///   - deadline: how long the guest may run before every vCPU is kicked out and the test fails.
    ///   - printf: where PRINTF lines go as they arrive (default: the test's log; nil: nowhere). They are also in
    ///     the report.
    /// - Returns: the report, for further checks.
    @discardableResult
    public func expectRun(
        ucalls expected: [Ucall]? = nil, deadline: Duration? = RunOptions.defaultDeadline,
        printf: GuestLog.Handler? = GuestLog.standardOutput, sourceLocation: SourceLocation = #_sourceLocation
    ) async -> RunReport {
        let report = await run(GuestLog.options(deadline: deadline, printf: printf))
        expectGuestRun(report, ucalls: expected, sourceLocation: sourceLocation)
        return report
    }
}
