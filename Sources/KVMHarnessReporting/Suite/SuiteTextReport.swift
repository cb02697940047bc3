import KVMHarness

/// A suite's results as readable text: one line per image, a closing line with the counts.
package enum SuiteTextReport {
    /// The first line: what runs.
    package static func header(imageCount: Int, of total: Int, shard: Shard, jobs: Int, deadline: Duration?) -> String {
        let timeout = deadline.map { "\($0.components.seconds) s" } ?? "none"
        let part = shard == .all ? "" : " (shard \(shard) of \(total))"
        return "running \(imageCount) image\(imageCount == 1 ? "" : "s")\(part), jobs \(jobs), timeout \(timeout)"
    }

    /// The image's line: "PASS     clean (4 ucalls, 1.234 ms)", "FAIL     abort: vCPU 0: ABORT ...".
    package static func line(for result: ImageResult) -> String {
        let word = result.verdict.rawValue.uppercased().padded(to: 8)
        switch result.outcome {
        case .ran(let summary) where summary.result == .done:
            return "\(word) \(result.image.name) (\(summary.ucalls) ucall\(summary.ucalls == 1 ? "" : "s"), "
                + "\(RunEventFormatter.duration(result.elapsedNanoseconds)))"
        default:
            return "\(word) \(result.image.name): \(result.reason ?? "")"
        }
    }

    /// The closing line: "17 images: 9 passed, 5 failed, 1 timed out, 1 skipped, 1 error in 3.456 s".
    package static func closing(_ totals: SuiteTotals, elapsedNanoseconds: UInt64) -> String {
        var parts = ["\(totals.passed) passed", "\(totals.failed) failed"]
        if totals.timedOut > 0 { parts.append("\(totals.timedOut) timed out") }
        if totals.skipped > 0 { parts.append("\(totals.skipped) skipped") }
        if totals.errors > 0 { parts.append("\(totals.errors) error\(totals.errors == 1 ? "" : "s")") }
        return "\(totals.total) image\(totals.total == 1 ? "" : "s"): " + parts.joined(separator: ", ") + " in "
            + RunEventFormatter.duration(elapsedNanoseconds)
    }
}
