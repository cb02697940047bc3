import KVMHarness

/// How one image of a suite ended, in the words every suite report uses.
package enum ImageVerdict: String, Sendable, CaseIterable {
    /// Every vCPU reached DONE.
    case pass
    /// The guest failed (ABORT, UNHANDLED, a fault exit, HLT before DONE, a malformed ucall).
    case fail
    /// The deadline passed.
    case timeout
    /// The host lacks a capability or CPU feature the image declares; it was not run.
    case skip
    /// The image could not be run: it cannot be loaded or its declaration is wrong (status 2), or the host could
    /// not create its VM (status 4).
    case error
}

/// What one vCPU of a multi-vCPU image did, for the per-vCPU subtests of KTAP.
package enum VCPUVerdict: Sendable, Equatable {
    /// It reached DONE.
    case pass
    /// It failed or timed out first or on its own: the event's text.
    case fail(String)
    /// It was stopped because another vCPU failed first (or the image never ran it).
    case stopped(String)
}

/// One image's run in a suite: the events it reported and how it ended.
package struct ImageResult: Sendable {
    /// How the image's turn ended.
    package enum Outcome: Sendable {
        /// It ran; the summary of its run.
        case ran(RunSummary)
        /// It was not run: the host lacks what it declares (the reason).
        case skipped(String)
        /// It was not run: the image or its declaration is unusable (status 2; the one-line reason).
        case unusable(String)
        /// It was not run: the host could not create its VM (status 4; the one-line reason).
        case hostUnavailable(String)
    }

    /// The image.
    package var image: SuiteImage
    /// How many vCPUs it ran on (its declaration's `vcpus`, 1 when it has none or could not be read).
    package var vcpus: Int
    /// How it ended.
    package var outcome: Outcome
    /// Its run's events in the order they were reported (empty if it was not run).
    package var events: [RunEvent]
    /// Wall time of the image's turn: reading, setting up, running and tearing down its VM.
    package var elapsedNanoseconds: UInt64

    /// A result with these fields.
    package init(
        image: SuiteImage, vcpus: Int, outcome: Outcome, events: [RunEvent] = [], elapsedNanoseconds: UInt64 = 0
    ) {
        self.image = image
        self.vcpus = vcpus
        self.outcome = outcome
        self.events = events
        self.elapsedNanoseconds = elapsedNanoseconds
    }

    /// The verdict.
    package var verdict: ImageVerdict {
        switch outcome {
        case .ran(let summary):
            switch summary.result {
            case .done: return .pass
            case .timeout: return .timeout
            default: return .fail
            }
        case .skipped: return .skip
        case .unusable, .hostUnavailable: return .error
        }
    }

    /// The exit status `kvm-harness run` would give this image: 0 done (or skipped), 1 guest failure, 2 unusable,
    /// 3 timeout, 4 host cannot run guests.
    package var exitStatus: Int32 {
        switch outcome {
        case .ran(let summary): return summary.result.exitStatus
        case .skipped: return ExitStatus.success
        case .unusable: return ExitStatus.unusable
        case .hostUnavailable: return ExitStatus.hostUnavailable
        }
    }

    /// One line saying why the image did not pass (nil if it passed): the event that decided a failure, the skip
    /// or setup reason.
    package var reason: String? {
        switch outcome {
        case .ran(let summary):
            guard summary.result != .done else { return nil }
            let deciding = summary.decidingVCPU ?? events.lazy.compactMap(Self.failureVCPU).first
            if let vcpu = deciding, let event = events.first(where: { Self.failureVCPU($0) == vcpu }) {
                return Self.oneLine(RunEventFormatter.text(event))
            }
            return "result \(summary.result.rawValue)"
        case .skipped(let reason), .unusable(let reason), .hostUnavailable(let reason):
            return reason
        }
    }

    /// Each vCPU's verdict, vCPU 0 first.
    package var vcpuVerdicts: [VCPUVerdict] {
        guard case .ran(let summary) = outcome else {
            return Array(repeating: .stopped("not run"), count: vcpus)
        }
        return (0..<vcpus).map { vcpu in
            if let failure = events.first(where: { Self.failureVCPU($0) == vcpu }) {
                return .fail(Self.oneLine(RunEventFormatter.text(failure)))
            }
            let done = events.contains {
                if case .ucall(vcpu, .done) = $0 { return true }
                return false
            }
            if done { return .pass }
            let first = summary.decidingVCPU.map { "vCPU \($0) failed first" } ?? "the run ended"
            return .stopped("stopped: \(first)")
        }
    }

    /// The text of the last `count` ucalls, oldest first ("vCPU 0: SYNC [0x1]").
    package func lastUcalls(_ count: Int) -> [String] {
        var lines: [String] = []
        for event in events.reversed() {
            guard lines.count < count else { break }
            if case .ucall = event { lines.append(Self.oneLine(RunEventFormatter.text(event))) }
        }
        return lines.reversed()
    }

    /// The vCPU an event reports a failure of, or nil for events that are not failures.
    private static func failureVCPU(_ event: RunEvent) -> Int? {
        switch event {
        case .ucall(let vcpu, let ucall): return ucall.isFailure ? vcpu : nil
        case .exit(let report): return report.isTracedUcall ? nil : report.vcpu
        case .error(let vcpu, _): return vcpu
        case .timeout(let report): return report.vcpu
        case .statistics, .summary: return nil
        }
    }

    /// The first line of `text`, with control characters replaced, so that it is one line in every format.
    package static func oneLine(_ text: String) -> String {
        let first = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let scalars = first.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }
        return String(String.UnicodeScalarView(scalars))
    }
}

/// The suite's counts and its one exit status.
package struct SuiteTotals: Sendable, Equatable {
    /// Images by verdict.
    package var passed = 0, failed = 0, timedOut = 0, skipped = 0, errors = 0
    /// Whether an image could not be run because the host could not create its VM.
    package var hostUnavailable = false

    /// The totals of `results`.
    package init(_ results: [ImageResult]) {
        for result in results {
            switch result.verdict {
            case .pass: passed += 1
            case .fail: failed += 1
            case .timeout: timedOut += 1
            case .skip: skipped += 1
            case .error: errors += 1
            }
            if case .hostUnavailable = result.outcome { hostUnavailable = true }
        }
    }

    /// How many images there were.
    package var total: Int { passed + failed + timedOut + skipped + errors }

    /// The suite's exit status, the most severe that applies: 4 if the host could not create an image's VM, 3 if
    /// an image timed out, 1 if one failed or could not be run, 0 if every image passed or was skipped.
    package var exitStatus: Int32 {
        if hostUnavailable { return ExitStatus.hostUnavailable }
        if timedOut > 0 { return ExitStatus.timeout }
        if failed > 0 || errors > 0 { return ExitStatus.guestFailure }
        return ExitStatus.success
    }
}
