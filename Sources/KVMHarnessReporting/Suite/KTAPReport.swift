import KVMHarness

/// A suite's results as KTAP version 1 (Documentation/dev-tools/ktap.rst), as kselftest and KUnit print it and
/// KernelCI, LAVA and `kunit.py parse` read it.
///
/// One result line per image, numbered from 1 in suite order; an image that ran on several vCPUs gets a nested
/// test (indented two spaces, with its own version line, `# Subtest:` header and plan) with one result per vCPU.
/// Directives: `# SKIP reason` for an image whose requirements the host lacks (and for a vCPU stopped because
/// another failed first), `# TIMEOUT` with the deadline, `# ERROR reason` for an image that could not be run.
/// Diagnostics are `#` lines just before the result they explain.
package enum KTAPReport {
    /// How many of a failed image's last ucalls the diagnostics show.
    package static let ucallsShown = 5

    /// The version line, the plan, and one diagnostic line with `title`.
    package static func header(imageCount: Int, title: String) -> [String] {
        ["KTAP version 1", "1..\(imageCount)", "# \(ImageResult.oneLine(title))"]
    }

    /// The lines for one image: diagnostics, the nested per-vCPU test if it ran on several, and its result line.
    package static func lines(for result: ImageResult, number: Int) -> [String] {
        let name = result.image.name
        var lines: [String] = []
        switch result.verdict {
        case .pass:
            if case .ran(let summary) = result.outcome {
                lines.append(
                    "# \(name): \(summary.ucalls) ucall\(summary.ucalls == 1 ? "" : "s") in "
                        + RunEventFormatter.duration(summary.elapsedNanoseconds))
            }
        case .fail, .timeout:
            lines.append("# \(name): \(result.reason ?? "failed")")
            let ucalls = result.lastUcalls(ucallsShown)
            if !ucalls.isEmpty {
                lines.append("# \(name): last ucalls:")
                lines += ucalls.map { "# \(name):   \($0)" }
            }
        case .skip, .error:
            break
        }
        if case .ran = result.outcome, result.vcpus > 1 {
            lines += ["  KTAP version 1", "  # Subtest: \(name)", "  1..\(result.vcpus)"]
            for (index, verdict) in result.vcpuVerdicts.enumerated() {
                let vcpu = "vcpu\(index)"
                switch verdict {
                case .pass: lines.append("  ok \(index + 1) \(vcpu)")
                case .fail(let text): lines += ["  # \(text)", "  not ok \(index + 1) \(vcpu)"]
                case .stopped(let why): lines.append("  ok \(index + 1) \(vcpu) # SKIP \(why)")
                }
            }
        }
        switch result.verdict {
        case .pass: lines.append("ok \(number) \(name)")
        case .fail: lines.append("not ok \(number) \(name)")
        case .timeout: lines.append("not ok \(number) \(name) # TIMEOUT \(deadline(of: result))")
        case .skip: lines.append("ok \(number) \(name) # SKIP \(result.reason ?? "")")
        case .error: lines.append("not ok \(number) \(name) # ERROR \(result.reason ?? "")")
        }
        return lines
    }

    /// kselftest's closing diagnostic: "# Totals: pass:9 fail:5 xfail:0 xpass:0 skip:1 error:1" (timeouts count
    /// as failures there, as kselftest's runner counts them).
    package static func totals(_ totals: SuiteTotals) -> String {
        "# Totals: pass:\(totals.passed) fail:\(totals.failed + totals.timedOut) xfail:0 xpass:0 "
            + "skip:\(totals.skipped) error:\(totals.errors)"
    }

    private static func deadline(of result: ImageResult) -> String {
        for event in result.events {
            if case .timeout(let report) = event { return RunEventFormatter.duration(report.deadlineNanoseconds) }
        }
        return "deadline passed"
    }
}
