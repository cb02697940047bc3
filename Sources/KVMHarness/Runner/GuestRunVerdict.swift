/// One reason a guest run did not do what a test expected, with the source location to report it at.
package struct GuestRunFailure: Hashable, Sendable, CustomStringConvertible {
    /// The failure message, starting with the guest's `file:line: expression` for a guest assertion.
    package var message: String
    /// The guest's source file, for a guest assertion (a run-time path, as the guest's `__FILE__` has it).
    package var file: String?
    /// The guest's source line, for a guest assertion.
    package var line: Int?

    package var description: String { message }
}

/// Judges a run report against what a test expected. Pure logic shared by the XCTest and Swift Testing helpers.
package enum GuestRunVerdict {
    /// The failures of `report`: each vCPU must reach DONE, and, when `expected` is given, make exactly those ucalls
    /// (PRINTF and NONE left out, see `VCPUReport.checkpoints`; include `.done` at the end).
    package static func failures(of report: RunReport, expected: [Ucall]? = nil) -> [GuestRunFailure] {
        var failures: [GuestRunFailure] = []
        if report.timedOut {
            failures.append(GuestRunFailure(message: report.timeoutDiagnosis))
        }
        for vcpu in report.vcpus {
            let prefix = report.vcpus.count > 1 ? "vCPU \(vcpu.index): " : ""
            switch vcpu.outcome {
            case .done, .stopped, .timedOut:
                break
            case .failed(.abort(let assertion)):
                failures.append(
                    GuestRunFailure(
                        message: prefix + "guest assertion failed: \(assertion)" + printfTail(vcpu),
                        file: assertion.file, line: assertion.line > 0 ? Int(clamping: assertion.line) : nil))
            case .failed(.unhandled(let exception)):
                failures.append(
                    GuestRunFailure(message: prefix + "unhandled guest exception: \(exception)" + printfTail(vcpu)))
            case .failed(let ucall):
                failures.append(GuestRunFailure(message: prefix + "guest failed: \(ucall)"))
            case .faulted(let exit):
                failures.append(
                    GuestRunFailure(
                        message: prefix + "guest stopped with \(exit.summary) at \(kvm_regs.programCounterName) "
                            + "\(hex(vcpu.registers.programCounter)), "
                            + "not a ucall (\(exit.reason.usualCauses))" + printfTail(vcpu)))
            case .error(let error):
                failures.append(GuestRunFailure(message: prefix + error.description + printfTail(vcpu)))
            }
            if let expected, vcpu.checkpoints != expected, vcpu.outcome == .done || !vcpu.outcome.isFailure {
                failures.append(
                    GuestRunFailure(
                        message: prefix + "ucall sequence mismatch\n"
                            + UcallSequenceDiff.render(expected: expected, observed: vcpu.checkpoints)
                            + printfTail(vcpu)))
            }
        }
        return failures
    }

    private static func printfTail(_ vcpu: VCPUReport) -> String {
        let lines = vcpu.printfLines
        guard !lines.isEmpty else { return "" }
        return "\nguest output so far:\n" + lines.map { "  | \($0)" }.joined(separator: "\n")
    }
}

/// Renders expected and observed ucall sequences side by side, marking the rows that differ.
package enum UcallSequenceDiff {
    /// A table with one row per position: "  " for equal rows, "✗ " for differing ones, "-" for a missing side.
    package static func render(expected: [Ucall], observed: [Ucall]) -> String {
        let left = expected.map(\.description)
        let right = observed.map(\.description)
        let width = max(8, min(60, left.map(\.count).max() ?? 0))
        var lines = ["  #  " + "expected".padded(to: width) + "  observed"]
        for row in 0..<max(left.count, right.count) {
            let l = row < left.count ? left[row] : "-"
            let r = row < right.count ? right[row] : "-"
            let same = row < expected.count && row < observed.count && expected[row] == observed[row]
            let mark = same ? "  " : "✗ "
            let number = String(row).padded(to: 3)
            lines.append(mark + number + l.padded(to: width) + "  " + r)
        }
        if let first = zip(expected, observed).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            lines.append("first difference at #\(first)")
        } else if expected.count != observed.count {
            lines.append("expected \(expected.count) ucalls, observed \(observed.count)")
        }
        return lines.joined(separator: "\n")
    }
}
