import XCTest

extension XCTestCase {
    /// Skips the test where `/dev/kvm` is missing (unless `KVMHARNESS_REQUIRE_KVM=1`), with the reason.
    public func skipUnlessKVM() throws {
        if !KVMAvailability.shouldRun {
            throw XCTSkip(KVMAvailability.unavailableReason ?? "KVM unavailable")
        }
    }

    /// Records every failure of a guest run: a guest assertion at the guest's own file and line, everything else at
    /// the caller.
    ///
    /// - Parameters:
    ///   - report: the run, from `VirtualMachine.run`.
    ///   - expected: the ucalls each vCPU must make (PRINTF and NONE left out; end with `.done`), or nil to only
    ///     require DONE.
    public func assertGuestRun(
        _ report: RunReport, ucalls expected: [Ucall]? = nil, file: StaticString = #filePath, line: UInt = #line
    ) {
        for failure in GuestRunVerdict.failures(of: report, expected: expected) {
            if let guestFile = failure.file, let guestLine = failure.line {
                recordFailure(withDescription: failure.message, inFile: guestFile, atLine: guestLine, expected: true)
            } else {
                XCTFail(failure.message, file: file, line: line)
            }
        }
    }
}

extension VirtualMachine {
    /// Runs the guest on dedicated threads and records its failures in `testCase` (see `assertGuestRun`).
    ///
    /// - Parameters:
    ///   - testCase: where failures are recorded.
    ///   - expected: the ucalls each vCPU must make (PRINTF and NONE left out; end with `.done`).
    ///   - deadline: how long the guest may run before every vCPU is kicked out and the test fails.
    ///   - printf: where PRINTF lines go as they arrive (default: the test's log; nil: nowhere).
    /// - Returns: the report, for further checks.
    @discardableResult
    public func assertRun(
        in testCase: XCTestCase, ucalls expected: [Ucall]? = nil, deadline: Duration? = RunOptions.defaultDeadline,
        printf: GuestLog.Handler? = GuestLog.standardOutput, file: StaticString = #filePath, line: UInt = #line
    ) -> RunReport {
        let report = run(GuestLog.options(deadline: deadline, printf: printf))
        testCase.assertGuestRun(report, ucalls: expected, file: file, line: line)
        return report
    }
}
